//! What the container routes ask of the daemon: moby's `router/container` `Backend`
//! (its state, monitor, attach and copy parts; exec and commit are their route groups'
//! own, [`crate::exec::ExecBackend`] and [`crate::commit::CommitBackend`]).

use std::io;
use std::sync::Arc;

use berth_engine::archive::{PathStat, PutOptions};
use berth_engine::exec::StdioSession;
use berth_engine::filters::Filters;
use berth_engine::{LogOptions, Result, WaitCondition};
use berth_models::{
    ContainerInspect, ContainerPruneResponse, ContainerStatsResponse, ContainerSummary,
    ContainerTopResponse, ContainerUpdate, CreateRequest, CreateResponse, UpdateResponse,
    WaitResponse,
};
use bytes::Bytes;
use futures_util::Stream;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};

/// The container routes' backend; `key` names a container by id, name or id prefix.
pub trait ContainerBackend: Send + Sync + 'static {
    // Create, list, inspect.
    fn create(
        &self,
        name: Option<&str>,
        req: CreateRequest,
    ) -> impl Future<Output = Result<CreateResponse>> + Send;
    fn list_filtered(&self, all: bool, filters: &Filters) -> Result<Vec<ContainerSummary>>;
    /// `rows` with their sizes (`size=1`).
    fn with_sizes(
        &self,
        rows: Vec<ContainerSummary>,
    ) -> impl Future<Output = Result<Vec<ContainerSummary>>> + Send;
    fn inspect(&self, key: &str) -> Result<ContainerInspect>;
    /// `c` with its sizes (`size=1`).
    fn inspect_with_size(
        &self,
        c: ContainerInspect,
    ) -> impl Future<Output = Result<ContainerInspect>> + Send;

    // State.
    fn start(self: &Arc<Self>, key: &str) -> impl Future<Output = Result<()>> + Send;
    fn stop(
        &self,
        key: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send;
    fn kill(&self, key: &str, signal: Option<&str>) -> impl Future<Output = Result<()>> + Send;
    fn set_paused(&self, key: &str, pause: bool) -> impl Future<Output = Result<()>> + Send;
    fn update(
        &self,
        key: &str,
        req: ContainerUpdate,
    ) -> impl Future<Output = Result<UpdateResponse>> + Send;
    fn rename(&self, key: &str, name: &str) -> impl Future<Output = Result<()>> + Send;
    fn remove(
        self: &Arc<Self>,
        key: &str,
        force: bool,
        volumes: bool,
    ) -> impl Future<Output = Result<()>> + Send;
    fn prune(
        self: &Arc<Self>,
        filters: &Filters,
    ) -> impl Future<Output = Result<ContainerPruneResponse>> + Send;
    /// Emit container event `action` (`restart`, `detach`) for `key`, if it still exists.
    fn container_event_by_key(&self, key: &str, action: &str);

    // Monitor.
    /// What resolves when `condition` is met (the check of `key` comes first).
    fn wait(
        &self,
        key: &str,
        condition: WaitCondition,
    ) -> Result<impl Future<Output = WaitResponse> + Send + 'static>;
    fn top(
        &self,
        key: &str,
        ps_args: Option<&str>,
    ) -> impl Future<Output = Result<ContainerTopResponse>> + Send;
    /// One stats sample; CPU deltas against `previous`.
    fn stats_sample(
        &self,
        key: &str,
        previous: Option<&ContainerStatsResponse>,
    ) -> impl Future<Output = Result<ContainerStatsResponse>> + Send;
    /// The log's chunks as the stream sends them, and whether the container has a TTY.
    fn logs(&self, key: &str, opts: LogOptions) -> Result<(mpsc::Receiver<Bytes>, bool)>;

    // Attach.
    /// How an attach runs (detach keys `keys`), checked before the hijack.
    fn attach_session(&self, key: &str, stdin: bool, keys: &str) -> Result<StdioSession>;
    /// The stdio stream once the container runs, and whether it has a TTY.
    fn attach(
        &self,
        key: &str,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> impl Future<Output = Result<(oneshot::Receiver<Result<UnixStream>>, bool)>> + Send;
    fn resize(&self, key: &str, width: u16, height: u16)
    -> impl Future<Output = Result<()>> + Send;

    // Copy (`docker cp`).
    fn archive_stat(
        self: &Arc<Self>,
        key: &str,
        path: &str,
    ) -> impl Future<Output = Result<PathStat>> + Send;
    /// The stat of `path` and a tar of it.
    fn archive_get(
        self: &Arc<Self>,
        key: &str,
        path: &str,
    ) -> impl Future<
        Output = Result<(
            PathStat,
            impl Stream<Item = io::Result<Bytes>> + Send + 'static,
        )>,
    > + Send;
    /// Extract the tar `body` at `path`.
    fn archive_put(
        self: &Arc<Self>,
        key: &str,
        path: &str,
        opts: PutOptions,
        body: impl Stream<Item = io::Result<Bytes>> + Send,
    ) -> impl Future<Output = Result<()>> + Send;
}
