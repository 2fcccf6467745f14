//! Exec endpoints: create, start (detached or hijacked), inspect, resize.

use berth_models::{ExecConfig, ExecInspect, ExecStartConfig, IdResponse};

use crate::Client;
use crate::error::{Error, Result};
use crate::query::{Query, encode};
use crate::stream::Hijacked;

impl Client {
    /// `POST /containers/{id}/exec`: the new exec's id.
    pub async fn exec_create(&self, container: &str, config: &ExecConfig) -> Result<IdResponse> {
        let url = format!("/containers/{}/exec", encode(container));
        self.post_json_for(&url, config).await
    }

    /// `POST /exec/{id}/start` with `Detach`: started, nothing attached.
    pub async fn exec_start_detached(&self, id: &str, config: &ExecStartConfig) -> Result<()> {
        let url = format!("/exec/{}/start", encode(id));
        self.post_json(&url, config).await?.collect().await?;
        Ok(())
    }

    /// `POST /exec/{id}/start` upgraded to a raw connection: the process's stdio.
    pub async fn exec_attach(&self, id: &str, config: &ExecStartConfig) -> Result<Hijacked> {
        let url = format!("/exec/{}/start", encode(id));
        let body = serde_json::to_vec(config).map_err(|e| Error::Decode(e.to_string()))?;
        self.hijack(&url, Some(body)).await
    }

    /// `GET /exec/{id}/json`.
    pub async fn exec_inspect(&self, id: &str) -> Result<ExecInspect> {
        self.get(&format!("/exec/{}/json", encode(id))).await
    }

    /// The exec's TTY size (`height` rows, `width` columns).
    pub async fn exec_resize(&self, id: &str, height: u16, width: u16) -> Result<()> {
        let url = Query::new(format!("/exec/{}/resize", encode(id)))
            .opt("h", Some(height))
            .opt("w", Some(width))
            .build();
        self.post(&url).await
    }
}
