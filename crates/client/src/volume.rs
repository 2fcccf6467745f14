//! Volume endpoints: create, list, inspect, remove, prune, and Berth's own export (a tar
//! of the content), import (a tar into an empty volume) and clone.

use berth_models::{Volume, VolumeCreateOptions, VolumeListResponse, VolumePruneResponse};
use bytes::Bytes;
use hyper::Method;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::Client;
use crate::error::Result;
use crate::http::{Body, TAR, empty_body};
use crate::query::{Filters, Query, encode};

/// `/volumes/{name}` with the name encoded.
fn path(name: &str, rest: &str) -> Query {
    Query::new(format!("/volumes/{}{rest}", encode(name)))
}

impl Client {
    /// `POST /volumes/create`: the new volume (or the one of that name and driver that
    /// already exists).
    pub async fn volume_create(&self, req: &VolumeCreateOptions) -> Result<Volume> {
        self.post_json_for("/volumes/create", req).await
    }

    /// `GET /volumes`: the volumes `filters` select (`dangling`, `driver`, `label`,
    /// `name`), and the daemon's warnings.
    pub async fn volume_list(&self, filters: &Filters) -> Result<VolumeListResponse> {
        self.get(&Query::new("/volumes").filters(filters).build())
            .await
    }

    /// `GET /volumes/{name}`.
    pub async fn volume_inspect(&self, name: &str) -> Result<Volume> {
        Ok(self.volume_inspect_with_raw(name).await?.0)
    }

    /// [`Client::volume_inspect`] with the answer's bytes as they came.
    pub async fn volume_inspect_with_raw(&self, name: &str) -> Result<(Volume, Bytes)> {
        self.get_with_raw(&path(name, "").build()).await
    }

    /// `DELETE /volumes/{name}`. A volume in use is a 409 with or without `force`, as
    /// dockerd answers; `force` makes a missing volume no error.
    pub async fn volume_remove(&self, name: &str, force: bool) -> Result<()> {
        // As the docker CLI's client: `force=1`, or nothing.
        let mut url = path(name, "");
        if force {
            url = url.str("force", "1");
        }
        self.delete(&url.build()).await
    }

    /// `POST /volumes/prune`: the volumes removed and the space they took. From API 1.42
    /// a prune takes anonymous volumes only unless `filters` has `all=true` (what `docker
    /// volume prune -a` sends); before, every unused volume.
    pub async fn volume_prune(&self, filters: &Filters) -> Result<VolumePruneResponse> {
        self.post_for(&Query::new("/volumes/prune").filters(filters).build())
            .await
    }

    /// `GET /volumes/{name}/export` (Berth's own): a tar of the volume's content, written
    /// to `out` as it comes (flushed at the end); the bytes written.
    pub async fn volume_export<W>(&self, name: &str, out: &mut W) -> Result<u64>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        let mut body = self
            .stream(Method::GET, &path(name, "/export").build())
            .await?;
        let mut written = 0u64;
        while let Some(chunk) = body.next().await? {
            out.write_all(&chunk).await?;
            written += chunk.len() as u64;
        }
        out.flush().await?;
        Ok(written)
    }

    /// `PUT /volumes/{name}/import` (Berth's own): the tar `body` (e.g.
    /// [`crate::reader_body`] of a file or stdin, streamed) extracted into the volume,
    /// which is made when missing and must be empty (409 otherwise).
    pub async fn volume_import(&self, name: &str, body: Body) -> Result<Volume> {
        let url = path(name, "/import").build();
        self.send_for(Method::PUT, &url, body, &[TAR]).await
    }

    /// `POST /volumes/{name}/clone?target=DST` (Berth's own): a new volume `target` with
    /// a copy of the content of `name`.
    pub async fn volume_clone(&self, name: &str, target: &str) -> Result<Volume> {
        let url = path(name, "/clone").str("target", target).build();
        self.send_for(Method::POST, &url, empty_body(), &[]).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::reader_body;
    use crate::testserver::{Answer, serve};

    fn client(sock: &std::path::Path) -> Client {
        Client::from_env(Some(&format!("unix://{}", sock.display()))).expect("client")
    }

    const VOL: &str = r#"{"CreatedAt":"2025-01-02T03:04:05Z","Driver":"local","Labels":null,
        "Mountpoint":"/var/lib/berth/volumes/v1/_data","Name":"v1","Options":null,
        "Scope":"local"}"#;

    #[tokio::test]
    async fn create_sends_the_options_and_reads_the_volume() {
        let (dir, served) = serve(vec![Answer::json(201, VOL)]);
        let req = VolumeCreateOptions {
            name: "v1".into(),
            driver: "local".into(),
            driver_opts: BTreeMap::from([("type".into(), "tmpfs".into())]),
            labels: BTreeMap::from([("a".into(), "b".into())]),
            cluster_volume_spec: None,
        };
        let v = client(&dir.path().join("s"))
            .volume_create(&req)
            .await
            .expect("created");
        assert_eq!((v.name.as_str(), v.scope.as_str()), ("v1", "local"));
        assert!(v.labels.is_empty());
        let got = served.one();
        assert_eq!(
            (got.method.as_str(), got.uri.as_str()),
            ("POST", "/v1.50/volumes/create")
        );
        assert_eq!(
            String::from_utf8_lossy(&got.body),
            r#"{"Name":"v1","Driver":"local","DriverOpts":{"type":"tmpfs"},"Labels":{"a":"b"}}"#
        );
    }

    #[tokio::test]
    async fn list_inspect_remove_prune() {
        let (dir, served) = serve(vec![
            Answer::json(200, &format!(r#"{{"Volumes":[{VOL}],"Warnings":null}}"#)),
            Answer::json(200, VOL),
            Answer::json(404, r#"{"message":"get nope: no such volume"}"#),
            Answer::empty(204),
            Answer::json(409, r#"{"message":"remove v1: volume is in use - [abc]"}"#),
            Answer::json(
                200,
                r#"{"VolumesDeleted":["v1","v2"],"SpaceReclaimed":4096}"#,
            ),
        ]);
        let c = client(&dir.path().join("s"));
        let mut f = Filters::new();
        f.add("dangling", "true");
        let list = c.volume_list(&f).await.expect("list");
        assert_eq!(list.volumes.expect("volumes")[0].driver, "local");
        let (v, raw) = c.volume_inspect_with_raw("v1").await.expect("inspect");
        assert_eq!(v.mountpoint, "/var/lib/berth/volumes/v1/_data");
        assert_eq!(raw, VOL.as_bytes());
        let e = c.volume_inspect("nope").await.expect_err("missing");
        assert!(e.is_not_found());
        assert_eq!(
            e.to_string(),
            "Error response from daemon: get nope: no such volume"
        );
        c.volume_remove("a b", true).await.expect("removed");
        let e = c.volume_remove("v1", false).await.expect_err("in use");
        assert_eq!(e.status(), Some(409));
        let mut all = Filters::new();
        all.add("all", "true");
        let pruned = c.volume_prune(&all).await.expect("pruned");
        assert_eq!(
            (pruned.volumes_deleted, pruned.space_reclaimed),
            (Some(vec!["v1".to_string(), "v2".to_string()]), 4096)
        );
        let lines: Vec<String> = served
            .all()
            .iter()
            .map(|r| format!("{} {}", r.method, r.uri))
            .collect();
        assert_eq!(
            lines,
            [
                "GET /v1.50/volumes?filters=%7B%22dangling%22%3A%7B%22true%22%3Atrue%7D%7D",
                "GET /v1.50/volumes/v1",
                "GET /v1.50/volumes/nope",
                "DELETE /v1.50/volumes/a%20b?force=1",
                "DELETE /v1.50/volumes/v1",
                "POST /v1.50/volumes/prune?filters=%7B%22all%22%3A%7B%22true%22%3Atrue%7D%7D",
            ]
        );
    }

    #[tokio::test]
    async fn export_import_and_clone() {
        let tar = "tar bytes, as they came";
        let (dir, served) = serve(vec![
            Answer::json(200, tar),
            Answer::json(404, r#"{"message":"get nope: no such volume"}"#),
            Answer::json(200, VOL),
            Answer::json(409, r#"{"message":"import v1: volume is not empty"}"#),
            Answer::json(201, &VOL.replace("\"v1\"", "\"v2\"")),
        ]);
        let c = client(&dir.path().join("s"));
        let mut out = Vec::new();
        let n = c.volume_export("v1", &mut out).await.expect("export");
        assert_eq!((n, out.as_slice()), (tar.len() as u64, tar.as_bytes()));
        let e = c
            .volume_export("nope", &mut Vec::new())
            .await
            .expect_err("missing");
        assert!(e.is_not_found());
        let body = reader_body(std::io::Cursor::new(b"a tar".to_vec()));
        let v = c.volume_import("v1", body).await.expect("import");
        assert_eq!(v.name, "v1");
        let e = c
            .volume_import("v1", reader_body(std::io::Cursor::new(Vec::new())))
            .await
            .expect_err("not empty");
        assert_eq!(
            e.to_string(),
            "Error response from daemon: import v1: volume is not empty"
        );
        let v = c.volume_clone("v1", "v 2").await.expect("clone");
        assert_eq!(v.name, "v2");
        let reqs = served.all();
        let lines: Vec<String> = reqs
            .iter()
            .map(|r| format!("{} {}", r.method, r.uri))
            .collect();
        assert_eq!(
            lines,
            [
                "GET /v1.50/volumes/v1/export",
                "GET /v1.50/volumes/nope/export",
                "PUT /v1.50/volumes/v1/import",
                "PUT /v1.50/volumes/v1/import",
                "POST /v1.50/volumes/v1/clone?target=v%202",
            ]
        );
        assert_eq!(reqs[2].body, b"a tar");
    }
}
