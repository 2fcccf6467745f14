//! Capabilities of the container's process.

use caps::{CapSet, Capability, CapsHashSet};
use oci_spec::runtime::LinuxCapabilities;

use std::str::FromStr;

/// What this process may hold at all: a container cannot get more (on hosts whose
/// bounding set lacks a capability, `--privileged` gets the rest).
fn grantable() -> CapsHashSet {
    caps::read(None, CapSet::Bounding).unwrap_or_else(|_| caps::runtime::thread_all_supported())
}

fn convert(set: Option<&oci_spec::runtime::Capabilities>) -> crate::Result<CapsHashSet> {
    let grantable = grantable();
    let mut out = CapsHashSet::new();
    for c in set.into_iter().flatten() {
        let name = format!("CAP_{c}");
        let cap = Capability::from_str(&name)
            .map_err(|e| crate::Error::Invalid(format!("unknown capability {name}: {e}")))?;
        if grantable.contains(&cap) {
            out.insert(cap);
        }
    }
    Ok(out)
}

fn caps_err(what: &str, e: caps::errors::CapsError) -> crate::Error {
    crate::Error::Invalid(format!("{what}: {e}"))
}

/// The converted sets, prepared before the process changes user.
#[derive(Debug)]
pub struct CapSets {
    bounding: CapsHashSet,
    effective: CapsHashSet,
    permitted: CapsHashSet,
    inheritable: CapsHashSet,
    ambient: CapsHashSet,
}

impl CapSets {
    pub fn from_spec(c: &LinuxCapabilities) -> crate::Result<Self> {
        Ok(CapSets {
            bounding: convert(c.bounding().as_ref())?,
            effective: convert(c.effective().as_ref())?,
            permitted: convert(c.permitted().as_ref())?,
            inheritable: convert(c.inheritable().as_ref())?,
            ambient: convert(c.ambient().as_ref())?,
        })
    }

    /// Whether `cap` is in the bounding set (what the process may ever hold).
    pub fn has(&self, cap: Capability) -> bool {
        self.bounding.contains(&cap)
    }

    /// Every capability the kernel supports, in every set but ambient (`--privileged`).
    pub fn all() -> Self {
        let all: CapsHashSet = grantable();
        CapSets {
            bounding: all.clone(),
            effective: all.clone(),
            permitted: all.clone(),
            inheritable: CapsHashSet::new(),
            ambient: CapsHashSet::new(),
        }
    }

    /// Drop every capability not in the bounding set (needs CAP_SETPCAP: call before
    /// changing user).
    pub fn drop_bounding(&self) -> crate::Result<()> {
        for cap in caps::runtime::thread_all_supported() {
            if !self.bounding.contains(&cap) {
                caps::drop(None, CapSet::Bounding, cap)
                    .map_err(|e| caps_err("dropping bounding capability", e))?;
            }
        }
        Ok(())
    }

    /// Set effective, permitted, inheritable and ambient sets (after changing user, with
    /// PR_SET_KEEPCAPS so permitted survived the change).
    pub fn apply(&self) -> crate::Result<()> {
        caps::set(None, CapSet::Effective, &self.effective)
            .map_err(|e| caps_err("setting effective capabilities", e))?;
        caps::set(None, CapSet::Permitted, &self.permitted)
            .map_err(|e| caps_err("setting permitted capabilities", e))?;
        caps::set(None, CapSet::Inheritable, &self.inheritable)
            .map_err(|e| caps_err("setting inheritable capabilities", e))?;
        if !self.ambient.is_empty() {
            caps::set(None, CapSet::Ambient, &self.ambient)
                .map_err(|e| caps_err("setting ambient capabilities", e))?;
        }
        Ok(())
    }
}

/// Keep permitted capabilities across setuid (PR_SET_KEEPCAPS).
pub fn keep_caps(on: bool) -> crate::Result<()> {
    nix::sys::prctl::set_keepcaps(on).map_err(|e| super::nix_err("setting PR_SET_KEEPCAPS", e))
}
