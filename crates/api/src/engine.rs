//! The engine behind every route group: `impl XBackend for Engine`, each method handing
//! the call to the engine's method of the same name (a few read one of its parts). No
//! logic lives here; the route groups depend on their traits, not on this.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;

use berth_engine::archive::{PathStat, PutOptions};
use berth_engine::events::Event;
use berth_engine::exec::StdioSession;
use berth_engine::filters::Filters;
use berth_engine::{CommitOptions, Engine, LogOptions, Result, WaitCondition};
use berth_models::{
    ContainerInspect, ContainerPruneResponse, ContainerStatsResponse, ContainerSummary,
    ContainerTopResponse, ContainerUpdate, CreateRequest, CreateResponse, DiskUsage, ExecConfig,
    ExecInspect, FilesystemChange, ImageDeleteResponseItem, ImageHistoryResponseItem, ImageInspect,
    ImagePruneResponse, ImageSummary, Network, NetworkConnectRequest, NetworkCreateRequest,
    NetworkCreateResponse, NetworkDisconnectRequest, NetworkPruneResponse, Runtime, UpdateResponse,
    Volume, VolumeCreateOptions, VolumePruneResponse, WaitResponse,
};
use berth_store::LoadedImage;
use bytes::Bytes;
use futures_util::Stream;
use tokio::net::UnixStream;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::{
    CommitBackend, ContainerBackend, ExecBackend, ImageBackend, NetworkBackend, SystemBackend,
    VolumeBackend,
};

impl ContainerBackend for Engine {
    fn create(
        &self,
        name: Option<&str>,
        req: CreateRequest,
    ) -> impl Future<Output = Result<CreateResponse>> + Send {
        Engine::create(self, name, req)
    }

    fn list_filtered(&self, all: bool, filters: &Filters) -> Result<Vec<ContainerSummary>> {
        Engine::list_filtered(self, all, filters)
    }

    fn with_sizes(
        &self,
        rows: Vec<ContainerSummary>,
    ) -> impl Future<Output = Result<Vec<ContainerSummary>>> + Send {
        Engine::with_sizes(self, rows)
    }

    fn inspect(&self, key: &str) -> Result<ContainerInspect> {
        Engine::inspect(self, key)
    }

    fn inspect_with_size(
        &self,
        c: ContainerInspect,
    ) -> impl Future<Output = Result<ContainerInspect>> + Send {
        Engine::inspect_with_size(self, c)
    }

    fn start(self: &Arc<Self>, key: &str) -> impl Future<Output = Result<()>> + Send {
        Engine::start(self, key)
    }

    fn stop(
        &self,
        key: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send {
        Engine::stop(self, key, timeout, signal)
    }

    fn kill(&self, key: &str, signal: Option<&str>) -> impl Future<Output = Result<()>> + Send {
        Engine::kill(self, key, signal)
    }

    fn set_paused(&self, key: &str, pause: bool) -> impl Future<Output = Result<()>> + Send {
        Engine::set_paused(self, key, pause)
    }

    fn update(
        &self,
        key: &str,
        req: ContainerUpdate,
    ) -> impl Future<Output = Result<UpdateResponse>> + Send {
        Engine::update(self, key, req)
    }

    fn rename(&self, key: &str, name: &str) -> impl Future<Output = Result<()>> + Send {
        Engine::rename(self, key, name)
    }

    fn remove(
        self: &Arc<Self>,
        key: &str,
        force: bool,
        volumes: bool,
    ) -> impl Future<Output = Result<()>> + Send {
        Engine::remove(self, key, force, volumes)
    }

    fn prune(
        self: &Arc<Self>,
        filters: &Filters,
    ) -> impl Future<Output = Result<ContainerPruneResponse>> + Send {
        Engine::prune(self, filters)
    }

    fn container_event_by_key(&self, key: &str, action: &str) {
        Engine::container_event_by_key(self, key, action);
    }

    fn wait(
        &self,
        key: &str,
        condition: WaitCondition,
    ) -> Result<impl Future<Output = WaitResponse> + Send + 'static> {
        Engine::wait(self, key, condition)
    }

    fn top(
        &self,
        key: &str,
        ps_args: Option<&str>,
    ) -> impl Future<Output = Result<ContainerTopResponse>> + Send {
        Engine::top(self, key, ps_args)
    }

    fn stats_sample(
        &self,
        key: &str,
        previous: Option<&ContainerStatsResponse>,
    ) -> impl Future<Output = Result<ContainerStatsResponse>> + Send {
        Engine::stats_sample(self, key, previous)
    }

    fn logs(&self, key: &str, opts: LogOptions) -> Result<(mpsc::Receiver<Bytes>, bool)> {
        Engine::logs(self, key, opts)
    }

    fn attach_session(&self, key: &str, stdin: bool, keys: &str) -> Result<StdioSession> {
        Engine::attach_session(self, key, stdin, keys)
    }

    fn attach(
        &self,
        key: &str,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> impl Future<Output = Result<(oneshot::Receiver<Result<UnixStream>>, bool)>> + Send {
        Engine::attach(self, key, stdin, stdout, stderr)
    }

    fn resize(
        &self,
        key: &str,
        width: u16,
        height: u16,
    ) -> impl Future<Output = Result<()>> + Send {
        Engine::resize(self, key, width, height)
    }

    fn archive_stat(
        self: &Arc<Self>,
        key: &str,
        path: &str,
    ) -> impl Future<Output = Result<PathStat>> + Send {
        Engine::archive_stat(self, key, path)
    }

    fn archive_get(
        self: &Arc<Self>,
        key: &str,
        path: &str,
    ) -> impl Future<
        Output = Result<(
            PathStat,
            impl Stream<Item = io::Result<Bytes>> + Send + 'static,
        )>,
    > + Send {
        Engine::archive_get(self, key, path)
    }

    fn archive_put(
        self: &Arc<Self>,
        key: &str,
        path: &str,
        opts: PutOptions,
        body: impl Stream<Item = io::Result<Bytes>> + Send,
    ) -> impl Future<Output = Result<()>> + Send {
        Engine::archive_put(self, key, path, opts, body)
    }
}

impl ExecBackend for Engine {
    fn exec_create(&self, container: &str, config: ExecConfig) -> Result<String> {
        Engine::exec_create(self, container, config)
    }

    fn exec_console_size(&self, id: &str, size: [u16; 2]) {
        Engine::exec_console_size(self, id, size);
    }

    fn exec_check(&self, id: &str) -> Result<StdioSession> {
        Engine::exec_check(self, id)
    }

    fn exec_start(
        &self,
        id: &str,
        detach: bool,
        tty_stream: bool,
    ) -> impl Future<Output = Result<Option<UnixStream>>> + Send {
        Engine::exec_start(self, id, detach, tty_stream)
    }

    fn exec_inspect(&self, id: &str) -> impl Future<Output = Result<ExecInspect>> + Send {
        Engine::exec_inspect(self, id)
    }

    fn exec_resize(
        &self,
        id: &str,
        width: u16,
        height: u16,
    ) -> impl Future<Output = Result<()>> + Send {
        Engine::exec_resize(self, id, width, height)
    }
}

impl CommitBackend for Engine {
    fn commit(
        &self,
        container: &str,
        opts: CommitOptions,
    ) -> impl Future<Output = Result<String>> + Send {
        Engine::commit(self, container, opts)
    }

    fn changes(
        &self,
        container: &str,
    ) -> impl Future<Output = Result<Vec<FilesystemChange>>> + Send {
        Engine::changes(self, container)
    }

    fn export(
        &self,
        container: &str,
    ) -> Result<impl FnOnce(&mut dyn Write) -> Result<()> + Send + 'static> {
        Engine::export(self, container)
    }
}

impl ImageBackend for Engine {
    fn image_list_filtered(&self, filters: &Filters, all: bool) -> Result<Vec<ImageSummary>> {
        Engine::image_list_filtered(self, filters, all)
    }

    fn image_prune(
        &self,
        filters: &Filters,
    ) -> impl Future<Output = Result<ImagePruneResponse>> + Send {
        Engine::image_prune(self, filters)
    }

    async fn image_save(
        &self,
        names: Vec<String>,
    ) -> Result<impl FnOnce(&mut dyn Write) -> Result<()> + Send + 'static> {
        let set = Engine::image_save(self, names).await?;
        Ok(move |out: &mut dyn Write| Ok(set.write(out)?))
    }

    fn import(
        &self,
        input: Box<dyn Read + Send>,
        repo: &str,
        tag: &str,
        message: &str,
        changes: &[String],
    ) -> impl Future<Output = Result<String>> + Send {
        Engine::import(self, input, repo, tag, message, changes)
    }

    fn load_images(
        &self,
        input: Box<dyn Read + Send>,
    ) -> impl Future<Output = Result<Vec<LoadedImage>>> + Send {
        Engine::load_images(self, input)
    }

    fn image_inspect(&self, name: &str) -> Result<ImageInspect> {
        Engine::image_inspect(self, name)
    }

    fn image_history(&self, name: &str) -> Result<Vec<ImageHistoryResponseItem>> {
        Engine::image_history(self, name)
    }

    fn image_tag(&self, name: &str, repo: &str, tag: &str) -> Result<()> {
        Engine::image_tag(self, name, repo, tag)
    }

    fn image_remove(
        &self,
        name: &str,
        force: bool,
        noprune: bool,
    ) -> impl Future<Output = Result<Vec<ImageDeleteResponseItem>>> + Send {
        Engine::image_remove(self, name, force, noprune)
    }
}

impl NetworkBackend for Engine {
    fn network_list(&self, filters: &Filters) -> impl Future<Output = Result<Vec<Network>>> + Send {
        Engine::network_list(self, filters)
    }

    fn network_inspect(&self, id: &str) -> impl Future<Output = Result<Network>> + Send {
        Engine::network_inspect(self, id)
    }

    fn network_create(
        &self,
        req: NetworkCreateRequest,
    ) -> impl Future<Output = Result<NetworkCreateResponse>> + Send {
        Engine::network_create(self, req)
    }

    fn network_remove(&self, id: &str) -> impl Future<Output = Result<()>> + Send {
        Engine::network_remove(self, id)
    }

    fn network_prune(
        &self,
        filters: &Filters,
    ) -> impl Future<Output = Result<NetworkPruneResponse>> + Send {
        Engine::network_prune(self, filters)
    }

    fn network_connect(
        self: &Arc<Self>,
        id: &str,
        req: NetworkConnectRequest,
    ) -> impl Future<Output = Result<()>> + Send {
        Engine::network_connect(self, id, req)
    }

    fn network_disconnect(
        &self,
        id: &str,
        req: NetworkDisconnectRequest,
    ) -> impl Future<Output = Result<()>> + Send {
        Engine::network_disconnect(self, id, req)
    }
}

impl VolumeBackend for Engine {
    fn volume_list(&self, filters: Option<&str>) -> Result<Vec<Volume>> {
        Engine::volume_list(self, filters)
    }

    fn volume_inspect(&self, name: &str) -> Result<Volume> {
        Engine::volume_inspect(self, name)
    }

    fn volume_create(
        &self,
        req: VolumeCreateOptions,
    ) -> impl Future<Output = Result<Volume>> + Send {
        Engine::volume_create(self, req)
    }

    fn volume_remove(&self, name: &str, force: bool) -> Result<()> {
        Engine::volume_remove(self, name, force)
    }

    fn volume_prune(
        &self,
        filters: Option<&str>,
        implied_all: bool,
    ) -> Result<VolumePruneResponse> {
        Engine::volume_prune(self, filters, implied_all)
    }

    fn volume_export(
        self: &Arc<Self>,
        name: &str,
    ) -> Result<impl FnOnce(&mut dyn Write) -> Result<()> + Send + 'static> {
        let export = Engine::volume_export(self, name)?;
        Ok(move |out: &mut dyn Write| export.write(out))
    }

    fn volume_import(&self, name: &str, input: impl Read) -> Result<Volume> {
        Engine::volume_import(self, name, input)
    }

    fn volume_clone(&self, name: &str, target: &str) -> Result<Volume> {
        Engine::volume_clone(self, name, target)
    }
}

impl SystemBackend for Engine {
    fn system_df(&self) -> impl Future<Output = Result<DiskUsage>> + Send {
        Engine::system_df(self)
    }

    fn counts(&self) -> (usize, usize, usize, usize) {
        Engine::counts(self)
    }

    fn image_count(&self) -> usize {
        self.store().list().map_or(0, |l| l.len())
    }

    fn data_root(&self) -> &Path {
        Engine::data_root(self)
    }

    fn runtimes_info(&self) -> (BTreeMap<String, Runtime>, &str) {
        Engine::runtimes_info(self)
    }

    fn init_info(&self) -> (&str, &str) {
        Engine::init_info(self)
    }

    fn default_log_driver(&self) -> &str {
        &self.config().default_log.r#type
    }

    fn subscribe_events(
        &self,
        since: Option<i128>,
    ) -> (Vec<Arc<Event>>, broadcast::Receiver<Arc<Event>>) {
        self.events().subscribe(since)
    }
}
