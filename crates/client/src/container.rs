//! Container endpoints: create, start, stop, kill, remove, wait, attach, inspect, list,
//! logs, pause, top, stats, update, resize, rename, prune, changes, export and the archive
//! (`docker cp`) endpoints, with their options.

use base64::Engine as _;
use berth_models::{
    ContainerInspect, ContainerPruneResponse, ContainerStatsResponse, ContainerSummary,
    ContainerTopResponse, ContainerUpdate, CreateRequest, CreateResponse, FilesystemChange,
    UpdateResponse, WaitResponse,
};
use bytes::Bytes;
use hyper::Method;
use serde::Deserialize;

use crate::Client;
use crate::error::{Error, Result};
use crate::http::{Body, TAR, empty_body};
use crate::query::{Filters, Query, encode};
use crate::stream::{ByteStream, Hijacked};

/// `/containers/{id}` with the id (or name) encoded.
fn path(id: &str, rest: &str) -> Query {
    Query::new(format!("/containers/{}{rest}", encode(id)))
}

/// `stop` and `restart`: seconds to wait before killing, and the signal to stop with.
#[derive(Debug, Clone, Default)]
pub struct StopOptions {
    pub timeout: Option<i64>,
    pub signal: Option<String>,
}

/// `GET /containers/json`.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    pub all: bool,
    /// Compute `SizeRw` and `SizeRootFs` (a walk of each writable layer).
    pub size: bool,
    pub limit: Option<i64>,
    pub filters: Filters,
}

/// `POST /containers/{id}/attach`: which streams, and the keys that detach a TTY session.
#[derive(Debug, Clone, Default)]
pub struct AttachOptions {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
    /// Docker's `detachKeys` (e.g. `ctrl-p,ctrl-q`); the daemon's default when `None`.
    pub detach_keys: Option<String>,
}

/// `GET /containers/{id}/logs`.
#[derive(Debug, Clone, Default)]
pub struct LogsOptions {
    pub follow: bool,
    pub timestamps: bool,
    pub details: bool,
    pub tail: Option<String>,
    /// Unix seconds (with nanoseconds), as the docker CLI sends them.
    pub since: Option<String>,
    pub until: Option<String>,
}

/// What `POST /containers/{id}/wait` waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCondition {
    NotRunning,
    NextExit,
    Removed,
}

impl WaitCondition {
    fn as_str(self) -> &'static str {
        match self {
            WaitCondition::NotRunning => "not-running",
            WaitCondition::NextExit => "next-exit",
            WaitCondition::Removed => "removed",
        }
    }
}

/// A wait the daemon has taken (its answer's headers came back): the status once the
/// condition is met.
#[derive(Debug)]
pub struct Wait {
    body: ByteStream,
}

impl Wait {
    pub async fn result(self) -> Result<WaitResponse> {
        let body = self.body.collect().await?;
        serde_json::from_slice(&body).map_err(|e| Error::Decode(e.to_string()))
    }
}

/// A container path's stat, as `X-Docker-Container-Path-Stat` carries it (Docker's
/// `PathStat`: `mode` holds Go's `os.FileMode` bits).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct PathStat {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub size: i64,
    #[serde(default)]
    pub mode: u32,
    #[serde(default)]
    pub mtime: String,
    #[serde(rename = "linkTarget", default)]
    pub link_target: String,
}

impl PathStat {
    pub fn is_dir(&self) -> bool {
        self.mode & (1 << 31) != 0
    }

    pub fn is_symlink(&self) -> bool {
        self.mode & (1 << 27) != 0
    }

    fn from_headers(headers: &hyper::HeaderMap) -> Result<PathStat> {
        let bad = |e: String| Error::Decode(format!("path stat: {e}"));
        let h = headers
            .get("x-docker-container-path-stat")
            .ok_or_else(|| bad("missing".into()))?;
        let json = base64::engine::general_purpose::STANDARD
            .decode(h.as_bytes())
            .map_err(|e| bad(e.to_string()))?;
        serde_json::from_slice(&json).map_err(|e| bad(e.to_string()))
    }
}

/// `PUT /containers/{id}/archive`: how the tar is extracted.
#[derive(Debug, Clone, Copy, Default)]
pub struct ArchivePut {
    /// Refuse to replace a directory with a non-directory or the other way round.
    pub no_overwrite_dir_non_dir: bool,
    /// Keep the archive's owners (`cp -a`).
    pub copy_uid_gid: bool,
}

impl Client {
    /// `POST /containers/create`.
    pub async fn container_create(
        &self,
        config: &CreateRequest,
        name: Option<&str>,
    ) -> Result<CreateResponse> {
        let url = Query::new("/containers/create").opt("name", name).build();
        self.post_json_for(&url, config).await
    }

    pub async fn container_start(&self, id: &str) -> Result<()> {
        self.post(&path(id, "/start").build()).await
    }

    pub async fn container_stop(&self, id: &str, o: &StopOptions) -> Result<()> {
        self.stop_or_restart(id, "/stop", o).await
    }

    pub async fn container_restart(&self, id: &str, o: &StopOptions) -> Result<()> {
        self.stop_or_restart(id, "/restart", o).await
    }

    async fn stop_or_restart(&self, id: &str, verb: &str, o: &StopOptions) -> Result<()> {
        let url = path(id, verb)
            .opt("t", o.timeout)
            .opt("signal", o.signal.as_deref())
            .build();
        self.post(&url).await
    }

    pub async fn container_kill(&self, id: &str, signal: Option<&str>) -> Result<()> {
        self.post(&path(id, "/kill").opt("signal", signal).build())
            .await
    }

    /// `DELETE /containers/{id}`; `volumes` removes its anonymous volumes.
    pub async fn container_remove(&self, id: &str, force: bool, volumes: bool) -> Result<()> {
        let url = path(id, "").flag("force", force).flag("v", volumes).build();
        self.delete(&url).await
    }

    /// `POST /containers/{id}/wait`: returns once the daemon has taken the wait, so that
    /// what happens next (a start) is waited for; [`Wait::result`] gives the status.
    pub async fn container_wait(&self, id: &str, condition: WaitCondition) -> Result<Wait> {
        let url = path(id, "/wait")
            .str("condition", condition.as_str())
            .build();
        Ok(Wait {
            body: self.stream(Method::POST, &url).await?,
        })
    }

    /// `POST /containers/{id}/attach` with `stream=1`, upgraded to a raw connection.
    pub async fn container_attach(&self, id: &str, o: &AttachOptions) -> Result<Hijacked> {
        let url = path(id, "/attach")
            .flag("stream", true)
            .flag("stdin", o.stdin)
            .flag("stdout", o.stdout)
            .flag("stderr", o.stderr)
            .opt("detachKeys", o.detach_keys.as_deref())
            .build();
        self.hijack(&url, None).await
    }

    /// `GET /containers/{id}/json`.
    pub async fn container_inspect(&self, id: &str, size: bool) -> Result<ContainerInspect> {
        self.get(&path(id, "/json").flag("size", size).build())
            .await
    }

    /// [`Client::container_inspect`] with the answer's bytes as they came (what the docker
    /// CLI prints for `inspect`).
    pub async fn container_inspect_with_raw(
        &self,
        id: &str,
        size: bool,
    ) -> Result<(ContainerInspect, Bytes)> {
        self.get_with_raw(&path(id, "/json").flag("size", size).build())
            .await
    }

    /// `GET /containers/json`.
    pub async fn container_list(&self, o: &ListOptions) -> Result<Vec<ContainerSummary>> {
        let url = Query::new("/containers/json")
            .flag("all", o.all)
            .flag("size", o.size)
            .opt("limit", o.limit)
            .filters(&o.filters)
            .build();
        self.get(&url).await
    }

    /// `GET /containers/{id}/logs` of stdout and stderr: Docker's frames, or the raw
    /// output of a container with a TTY.
    pub async fn container_logs(&self, id: &str, o: &LogsOptions) -> Result<ByteStream> {
        let url = path(id, "/logs")
            .flag("stdout", true)
            .flag("stderr", true)
            .flag("follow", o.follow)
            .flag("timestamps", o.timestamps)
            .flag("details", o.details)
            .opt("tail", o.tail.as_deref())
            .opt("since", o.since.as_deref())
            .opt("until", o.until.as_deref())
            .build();
        self.stream(Method::GET, &url).await
    }

    pub async fn container_pause(&self, id: &str) -> Result<()> {
        self.post(&path(id, "/pause").build()).await
    }

    pub async fn container_unpause(&self, id: &str) -> Result<()> {
        self.post(&path(id, "/unpause").build()).await
    }

    /// `GET /containers/{id}/top`, with `ps` options when given.
    pub async fn container_top(
        &self,
        id: &str,
        ps_args: Option<&str>,
    ) -> Result<ContainerTopResponse> {
        self.get(&path(id, "/top").opt("ps_args", ps_args).build())
            .await
    }

    /// One sample of `GET /containers/{id}/stats` (`stream=false`).
    pub async fn container_stats(&self, id: &str) -> Result<ContainerStatsResponse> {
        self.get(&path(id, "/stats").str("stream", "false").build())
            .await
    }

    pub async fn container_update(
        &self,
        id: &str,
        update: &ContainerUpdate,
    ) -> Result<UpdateResponse> {
        self.post_json_for(&path(id, "/update").build(), update)
            .await
    }

    /// The TTY's size (`height` rows, `width` columns).
    pub async fn container_resize(&self, id: &str, height: u16, width: u16) -> Result<()> {
        let url = path(id, "/resize")
            .opt("h", Some(height))
            .opt("w", Some(width))
            .build();
        self.post(&url).await
    }

    pub async fn container_rename(&self, id: &str, new_name: &str) -> Result<()> {
        self.post(&path(id, "/rename").str("name", new_name).build())
            .await
    }

    pub async fn container_prune(&self, filters: &Filters) -> Result<ContainerPruneResponse> {
        self.post_for(&Query::new("/containers/prune").filters(filters).build())
            .await
    }

    /// `GET /containers/{id}/changes`.
    pub async fn container_changes(&self, id: &str) -> Result<Vec<FilesystemChange>> {
        // `null` when nothing changed.
        let changes: Option<Vec<FilesystemChange>> =
            self.get(&path(id, "/changes").build()).await?;
        Ok(changes.unwrap_or_default())
    }

    /// `GET /containers/{id}/export`: a tar of the container's filesystem.
    pub async fn container_export(&self, id: &str) -> Result<ByteStream> {
        self.stream(Method::GET, &path(id, "/export").build()).await
    }

    /// `HEAD /containers/{id}/archive`: what is at `path` in the container.
    pub async fn container_stat_path(&self, id: &str, path_in: &str) -> Result<PathStat> {
        let url = path(id, "/archive").str("path", path_in).build();
        let resp = self.send(Method::HEAD, &url, empty_body(), &[]).await?;
        PathStat::from_headers(resp.headers())
    }

    /// `GET /containers/{id}/archive`: the stat of `path` and a tar of it.
    pub async fn container_archive_get(
        &self,
        id: &str,
        path_in: &str,
    ) -> Result<(PathStat, ByteStream)> {
        let url = path(id, "/archive").str("path", path_in).build();
        let resp = self.send(Method::GET, &url, empty_body(), &[]).await?;
        let stat = PathStat::from_headers(resp.headers())?;
        Ok((stat, ByteStream::new(resp.into_body())))
    }

    /// `PUT /containers/{id}/archive`: extract the tar `body` into the directory `dir`.
    pub async fn container_archive_put(
        &self,
        id: &str,
        dir: &str,
        o: ArchivePut,
        body: Body,
    ) -> Result<()> {
        let mut url = path(id, "/archive").str("path", dir);
        if o.no_overwrite_dir_non_dir {
            url = url.str("noOverwriteDirNonDir", "true");
        }
        if o.copy_uid_gid {
            url = url.str("copyUIDGID", "true");
        }
        let resp = self.send(Method::PUT, &url.build(), body, &[TAR]).await?;
        ByteStream::new(resp.into_body()).collect().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_stat_decodes_docker_header() {
        let json = r#"{"name":"l","size":3,"mode":134218239,"mtime":"2024-01-01T00:00:00Z","linkTarget":"/etc"}"#;
        let mut h = hyper::HeaderMap::new();
        let enc = base64::engine::general_purpose::STANDARD.encode(json);
        h.insert("x-docker-container-path-stat", enc.parse().unwrap());
        let st = PathStat::from_headers(&h).unwrap();
        assert!(st.is_symlink() && !st.is_dir());
        assert_eq!(st.link_target, "/etc");
        assert!(PathStat::from_headers(&hyper::HeaderMap::new()).is_err());
    }
}
