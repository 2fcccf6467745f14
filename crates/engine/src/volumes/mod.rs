//! `/volumes/...`: create, list, inspect, remove, prune, and Berth's own export, import
//! and clone, over the `berth-volumes` service the engine holds (what containers do with
//! volumes is in `containers::mounts`). Volume events as dockerd's: `create`, `mount`,
//! `unmount`, `destroy`, and `prune`.
//!
//! Here: create, list, inspect, remove, prune, `system df`'s usage, and the events; the
//! transfers of a volume's content (export, import, clone) in `transfer.rs`.

mod transfer;

use std::collections::BTreeMap;

use berth_models::{UsageData, Volume, VolumeCreateOptions, VolumePruneResponse};
use berth_volumes::Filters;

pub use transfer::VolumeExport;

use crate::containers::volumes::volume_error;
use crate::{Engine, Error, ErrorKind, Result, events};

/// A volume of the library as the API shows it.
fn model(v: berth_volumes::Volume) -> Volume {
    Volume {
        cluster_volume: None,
        created_at: v.created_at,
        driver: v.driver,
        labels: v.labels,
        mountpoint: v.mountpoint.to_string_lossy().into_owned(),
        name: v.name,
        options: v.options,
        scope: v.scope,
        status: None,
        usage_data: None,
    }
}

impl Engine {
    /// Emit a volume event: attributes `driver` and `extra`.
    pub(crate) fn volume_event(
        &self,
        action: &str,
        name: &str,
        driver: &str,
        extra: &[(&str, String)],
    ) {
        let mut attributes: BTreeMap<String, String> =
            [("driver".to_string(), driver.to_string())].into();
        for (k, v) in extra {
            attributes.insert(k.to_string(), v.clone());
        }
        self.events.emit(events::Event {
            typ: "volume",
            action: action.into(),
            id: name.into(),
            attributes,
            time_nano: events::now_nano(),
        });
    }

    /// `POST /volumes/create`: an existing volume of that name is given back as it is
    /// (dockerd's answer), an empty name makes an anonymous one.
    pub async fn volume_create(&self, req: VolumeCreateOptions) -> Result<Volume> {
        if req.cluster_volume_spec.is_some() {
            return Err(Error::new(
                ErrorKind::NotImplemented,
                "ClusterVolumeSpec: cluster volumes (docker volume create --group, --scope, --sharing...) are not supported: Berth has no swarm",
            ));
        }
        if !req.name.is_empty() {
            berth_volumes::validate_name(&req.name)
                .map_err(|why| Error::invalid(format!("create {}: {why}", req.name)))?;
            if let Ok(v) = self.volumes.get(&req.name) {
                let driver = if req.driver.is_empty() {
                    "local"
                } else {
                    &req.driver
                };
                if v.driver == driver {
                    // dockerd's event for a create of an existing volume too.
                    self.volume_event("create", &v.name, &v.driver, &[]);
                    return Ok(model(v));
                }
            }
        }
        let v = self
            .volumes
            .create(&req.name, &req.driver, &req.driver_opts, &req.labels)
            .map_err(volume_error)?;
        self.volume_event("create", &v.name, &v.driver, &[]);
        Ok(model(v))
    }

    /// `GET /volumes` with `filters` (JSON, as the query has it).
    pub fn volume_list(&self, filters: Option<&str>) -> Result<Vec<Volume>> {
        let f = Filters::from_json(filters.unwrap_or("")).map_err(volume_error)?;
        Ok(self
            .volumes
            .list(&f)
            .map_err(volume_error)?
            .into_iter()
            .map(model)
            .collect())
    }

    /// `GET /volumes/{name}`.
    pub fn volume_inspect(&self, name: &str) -> Result<Volume> {
        self.volumes.get(name).map(model).map_err(volume_error)
    }

    /// `DELETE /volumes/{name}`: in use (by any container, running or not) is a 409 with
    /// or without `force`, which only makes a missing volume not an error.
    pub fn volume_remove(&self, name: &str, force: bool) -> Result<()> {
        let driver = self.volumes.get(name).map(|v| v.driver);
        self.volumes.remove(name, force).map_err(volume_error)?;
        if let Ok(driver) = driver {
            self.volume_event("destroy", name, &driver, &[]);
        }
        Ok(())
    }

    /// `POST /volumes/prune`: unused volumes, anonymous ones only unless the filter
    /// `all` is set; requests of API versions before 1.42 (`implied_all`) prune every
    /// unused volume, as dockerd did then.
    pub fn volume_prune(
        &self,
        filters: Option<&str>,
        implied_all: bool,
    ) -> Result<VolumePruneResponse> {
        let f = Filters::from_json(filters.unwrap_or("")).map_err(volume_error)?;
        let drivers: BTreeMap<String, String> = self
            .volumes
            .list(&Filters::default())
            .map_err(volume_error)?
            .into_iter()
            .map(|v| (v.name, v.driver))
            .collect();
        let report = self.volumes.prune(&f, implied_all).map_err(volume_error)?;
        for name in &report.deleted {
            let driver = drivers.get(name).map(String::as_str).unwrap_or("local");
            self.volume_event("destroy", name, driver, &[]);
        }
        self.prune_event("volume", report.space_reclaimed);
        Ok(VolumePruneResponse {
            volumes_deleted: (!report.deleted.is_empty()).then_some(report.deleted),
            space_reclaimed: report.space_reclaimed,
        })
    }

    /// Each volume with its `UsageData` (`system df`): size, and how many containers
    /// reference it.
    pub async fn volume_usage(&self) -> Result<Vec<Volume>> {
        let usage = self.volumes.usage().map_err(volume_error)?;
        Ok(usage
            .into_iter()
            .map(|(v, u)| Volume {
                usage_data: Some(UsageData {
                    size: u.size,
                    ref_count: u.ref_count,
                }),
                ..model(v)
            })
            .collect())
    }
}
