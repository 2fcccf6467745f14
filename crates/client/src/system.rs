//! System endpoints: version, info, disk usage, events.

use berth_models::{DiskUsage, EventMessage, SystemInfo, SystemVersion};
use hyper::Method;

use crate::Client;
use crate::error::Result;
use crate::query::{Filters, Query};
use crate::stream::JsonStream;

/// `GET /events`: the window (Unix seconds, with nanoseconds, as the docker CLI sends
/// them) and the filters.
#[derive(Debug, Clone, Default)]
pub struct EventsOptions {
    pub since: Option<String>,
    pub until: Option<String>,
    pub filters: Filters,
}

impl Client {
    /// `GET /version`.
    pub async fn server_version(&self) -> Result<SystemVersion> {
        self.get("/version").await
    }

    /// `GET /info`.
    pub async fn info(&self) -> Result<SystemInfo> {
        self.get("/info").await
    }

    /// `GET /system/df`.
    pub async fn disk_usage(&self) -> Result<DiskUsage> {
        self.get("/system/df").await
    }

    /// `GET /events`: past events from `since`, then live ones until `until` (forever
    /// without).
    pub async fn events(&self, o: &EventsOptions) -> Result<JsonStream<EventMessage>> {
        let url = Query::new("/events")
            .opt("since", o.since.as_deref())
            .opt("until", o.until.as_deref())
            .filters(&o.filters)
            .build();
        let resp = self
            .send(Method::GET, &url, crate::http::empty_body(), &[])
            .await?;
        Ok(JsonStream::new(resp.into_body()))
    }
}
