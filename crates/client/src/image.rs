//! Image endpoints: list, inspect, history, remove, prune, tag, load, save, import, and
//! commit (a container's changes as an image).

use berth_models::{
    IdResponse, ImageDeleteResponseItem, ImageHistoryResponseItem, ImageInspect,
    ImagePruneResponse, ImageSummary, JsonMessage,
};
use bytes::Bytes;
use hyper::Method;

use crate::Client;
use crate::error::Result;
use crate::http::{Body, TAR};
use crate::query::{Filters, Query, encode};
use crate::stream::{ByteStream, JsonStream};

/// `/images/{name}` with the name encoded.
fn path(name: &str, rest: &str) -> Query {
    Query::new(format!("/images/{}{rest}", encode(name)))
}

/// `POST /commit`: what to commit, as what.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    pub container: String,
    /// `REPOSITORY[:TAG]` of the new image, none for an untagged one.
    pub reference: Option<String>,
    /// The commit message.
    pub comment: String,
    pub author: String,
    /// Freeze the container while its layer is written.
    pub pause: bool,
    /// Dockerfile instructions applied to the config (`--change`).
    pub changes: Vec<String>,
}

/// `name[:tag]` → (name, tag), the tag empty when not given (a `:` in a registry's
/// `host:port` is not a tag).
pub fn split_reference(r: &str) -> (&str, &str) {
    match r.rfind(':') {
        Some(i) if !r[i..].contains('/') => (&r[..i], &r[i + 1..]),
        _ => (r, ""),
    }
}

/// `POST /images/create?fromSrc=`: an image from a tar.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `-` for the request body, or a URL.
    pub source: String,
    /// `REPOSITORY[:TAG]` ("" for none).
    pub reference: String,
    pub message: String,
    pub changes: Vec<String>,
}

impl Client {
    /// `GET /images/json`.
    pub async fn image_list(&self, all: bool, filters: &Filters) -> Result<Vec<ImageSummary>> {
        let url = Query::new("/images/json")
            .flag("all", all)
            .filters(filters)
            .build();
        self.get(&url).await
    }

    /// `GET /images/{name}/json`.
    pub async fn image_inspect(&self, name: &str) -> Result<ImageInspect> {
        self.get(&path(name, "/json").build()).await
    }

    /// [`Client::image_inspect`] with the answer's bytes as they came.
    pub async fn image_inspect_with_raw(&self, name: &str) -> Result<(ImageInspect, Bytes)> {
        self.get_with_raw(&path(name, "/json").build()).await
    }

    /// `GET /images/{name}/history`, newest first.
    pub async fn image_history(&self, name: &str) -> Result<Vec<ImageHistoryResponseItem>> {
        self.get(&path(name, "/history").build()).await
    }

    /// `DELETE /images/{name}`: what was untagged and deleted.
    pub async fn image_remove(
        &self,
        name: &str,
        force: bool,
        no_prune: bool,
    ) -> Result<Vec<ImageDeleteResponseItem>> {
        let url = path(name, "")
            .flag("force", force)
            .flag("noprune", no_prune)
            .build();
        let body = self.stream(Method::DELETE, &url).await?.collect().await?;
        serde_json::from_slice(&body).map_err(|e| crate::Error::Decode(e.to_string()))
    }

    pub async fn image_prune(&self, filters: &Filters) -> Result<ImagePruneResponse> {
        self.post_for(&Query::new("/images/prune").filters(filters).build())
            .await
    }

    /// `POST /images/{name}/tag`: `name` also as `target` (`REPOSITORY[:TAG]`, `latest`
    /// when no tag is given).
    pub async fn image_tag(&self, name: &str, target: &str) -> Result<()> {
        let (repo, tag) = split_reference(target);
        let tag = if tag.is_empty() { "latest" } else { tag };
        let url = path(name, "/tag").str("repo", repo).str("tag", tag).build();
        self.post(&url).await
    }

    /// `POST /images/load` of the archive `body`: the daemon's progress, errors included.
    pub async fn image_load(&self, body: Body, quiet: bool) -> Result<JsonStream<JsonMessage>> {
        let url = Query::new("/images/load").flag("quiet", quiet).build();
        let resp = self.send(Method::POST, &url, body, &[TAR]).await?;
        Ok(JsonStream::new(resp.into_body()))
    }

    /// `GET /images/get`: a `docker save` archive of `names`.
    pub async fn image_save(&self, names: &[String]) -> Result<ByteStream> {
        let url = Query::new("/images/get").each("names", names).build();
        self.stream(Method::GET, &url).await
    }

    /// `POST /images/create?fromSrc=`: import a filesystem tar (`body`, when the source
    /// is `-`) as an image.
    pub async fn image_import(
        &self,
        o: &ImportOptions,
        body: Body,
    ) -> Result<JsonStream<JsonMessage>> {
        let url = Query::new("/images/create")
            .str("fromSrc", &o.source)
            .str("repo", &o.reference)
            .str("message", &o.message)
            .each("changes", &o.changes)
            .build();
        let resp = self.send(Method::POST, &url, body, &[TAR]).await?;
        Ok(JsonStream::new(resp.into_body()))
    }

    /// `POST /commit`: the new image's id.
    pub async fn commit(&self, o: &CommitOptions) -> Result<IdResponse> {
        let (repo, tag) = o.reference.as_deref().map_or(("", ""), split_reference);
        let url = Query::new("/commit")
            .str("container", &o.container)
            .str("repo", repo)
            .str("tag", tag)
            .str("comment", &o.comment)
            .str("author", &o.author)
            .flag("pause", o.pause)
            .each("changes", &o.changes)
            .build();
        self.post_for(&url).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_at_the_tag() {
        assert_eq!(split_reference("busybox:1"), ("busybox", "1"));
        assert_eq!(split_reference("busybox"), ("busybox", ""));
        assert_eq!(split_reference("reg:5000/a/b"), ("reg:5000/a/b", ""));
        assert_eq!(split_reference("reg:5000/a:x"), ("reg:5000/a", "x"));
    }
}
