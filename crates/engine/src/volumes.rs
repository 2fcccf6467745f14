//! `/volumes/...`: create, list, inspect, remove, prune, and Berth's own export, import
//! and clone, over the `berth-volumes` service the engine holds (what containers do with
//! volumes is in `containers::mounts`). Volume events as dockerd's: `create`, `mount`,
//! `unmount`, `destroy`, and `prune`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::ops::Deref;
use std::sync::Arc;

use berth_models::{UsageData, Volume, VolumeCreateOptions, VolumePruneResponse};
use berth_volumes::{ANONYMOUS_LABEL, Filters, copy};

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

/// A use of a volume by an operation of the daemon's own (export, import, clone), under a
/// user name of its own: the volume counts as in use meanwhile (it is not removed under
/// the operation), and a volume with mount options is mounted for it. Unmounted on drop.
struct Use<E: Deref<Target = Engine>> {
    engine: E,
    name: String,
    user: String,
    path: std::path::PathBuf,
}

impl<E: Deref<Target = Engine>> Use<E> {
    fn new(engine: E, name: &str, op: &str) -> Result<Use<E>> {
        let nonce = berth_volumes::anonymous_name().map_err(volume_error)?;
        let user = format!("berth-{op}-{}", &nonce[..16]);
        let path = engine.volumes.mount(name, &user).map_err(volume_error)?;
        Ok(Use {
            engine,
            name: name.to_string(),
            user,
            path,
        })
    }
}

impl<E: Deref<Target = Engine>> Drop for Use<E> {
    fn drop(&mut self) {
        if let Err(e) = self.engine.volumes.unmount(&self.name, &self.user) {
            tracing::warn!(volume = %self.name, "unmounting after {}: {e}", self.user);
        }
    }
}

/// A volume being exported: [`VolumeExport::write`] writes its tar; the volume is in
/// use until this is dropped.
pub struct VolumeExport(Use<Arc<Engine>>);

impl VolumeExport {
    /// Write the tar of the volume's content to `out` (blocking).
    pub fn write<W: Write>(&self, out: W) -> Result<()> {
        copy::export(&self.0.path, out)
            .map(drop)
            .map_err(volume_error)
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

    /// `GET /volumes/{name}/export` (Berth's own): the volume, in use until the returned
    /// export is dropped, whose `write` gives a tar of its content.
    pub fn volume_export(self: &Arc<Self>, name: &str) -> Result<VolumeExport> {
        self.volumes.get(name).map_err(volume_error)?;
        Ok(VolumeExport(Use::new(self.clone(), name, "export")?))
    }

    /// The volume `name`, created (local, with an event) when missing: `(volume, made)`.
    fn volume_or_new(
        &self,
        name: &str,
        driver: &str,
        options: &BTreeMap<String, String>,
        labels: &BTreeMap<String, String>,
    ) -> Result<(berth_volumes::Volume, bool)> {
        match self.volumes.get(name) {
            Ok(v) => Ok((v, false)),
            Err(berth_volumes::Error::NotFound { .. }) => {
                berth_volumes::validate_name(name)
                    .map_err(|why| Error::invalid(format!("create {name}: {why}")))?;
                let v = self
                    .volumes
                    .create(name, driver, options, labels)
                    .map_err(volume_error)?;
                self.volume_event("create", &v.name, &v.driver, &[]);
                Ok((v, true))
            }
            Err(e) => Err(volume_error(e)),
        }
    }

    /// Undo a volume made for an import or clone that failed.
    fn drop_new_volume(&self, name: &str, driver: &str) {
        match self.volumes.remove(name, true) {
            Ok(()) => self.volume_event("destroy", name, driver, &[]),
            Err(e) => tracing::warn!(volume = %name, "removing after a failure: {e}"),
        }
    }

    /// `PUT /volumes/{name}/import` (Berth's own): a tar (plain, gzip or zstd) into the
    /// empty volume `name`, created when missing. On an error the volume is left empty,
    /// and one made for the import is removed. Blocking: call on a blocking thread.
    pub fn volume_import(&self, name: &str, input: impl Read) -> Result<Volume> {
        let none = BTreeMap::new();
        let (v, made) = self.volume_or_new(name, "", &none, &none)?;
        let result = (|| {
            let u = Use::new(self, name, "import")?;
            copy::import(input, &u.path, name).map_err(volume_error)
        })();
        if let Err(e) = result {
            if made {
                self.drop_new_volume(name, &v.driver);
            }
            return Err(e);
        }
        Ok(model(v))
    }

    /// `POST /volumes/{name}/clone?target=DST` (Berth's own): the content of `name` into
    /// the empty volume `target`, created when missing with the driver, options and labels
    /// of `name`. Blocking: call on a blocking thread.
    pub fn volume_clone(&self, name: &str, target: &str) -> Result<Volume> {
        if target.is_empty() {
            return Err(Error::invalid("clone: no target volume given (target=)"));
        }
        if target == name {
            return Err(Error::invalid(format!(
                "clone {name}: the target is the volume itself"
            )));
        }
        let src = self.volumes.get(name).map_err(volume_error)?;
        let mut labels = src.labels.clone();
        labels.remove(ANONYMOUS_LABEL);
        let (v, made) = self.volume_or_new(target, &src.driver, &src.options, &labels)?;
        let result = (|| {
            let from = Use::new(self, name, "clone")?;
            let to = Use::new(self, target, "clone")?;
            copy::clone(&from.path, &to.path, target).map_err(volume_error)
        })();
        if let Err(e) = result {
            if made {
                self.drop_new_volume(target, &v.driver);
            }
            return Err(e);
        }
        Ok(model(v))
    }
}
