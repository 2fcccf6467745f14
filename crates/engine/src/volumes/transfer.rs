//! Berth's own transfers of a volume's content, on the volumes crate's `copy`: export
//! (a tar of it), import (a tar into an empty volume, made when missing) and clone (into
//! another empty volume). Each holds the volumes it works on as a `Use` of its own, so
//! they are not removed, and are mounted if they need it, meanwhile.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::ops::Deref;
use std::sync::Arc;

use berth_models::Volume;
use berth_volumes::{ANONYMOUS_LABEL, copy};

use super::model;
use crate::containers::volumes::volume_error;
use crate::{Engine, Error, Result};

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
