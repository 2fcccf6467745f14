//! What differs between API versions, in one place (moby does it in its routers:
//! `api/server/router/*/..._routes.go`; the list is its API version history).
//!
//! The engine answers in the newest shape, with every field it has; [`ForVersion`]
//! turns an answer into what a client of an older version gets (fields added or removed
//! per version), and turns a request of an older version into what it means today
//! (defaults that changed, fields that version did not have). The api crate calls it
//! where it reads a request or writes an answer, with the version the request named.
//!
//! Answers:
//! - `GET /images/json` (and `Images` of `system df`): below 1.43 an untagged image has
//!   `<none>:<none>` and `<none>@<none>`, and empty lists are `null`; `VirtualSize`
//!   below 1.44; `Manifests` from 1.47, `Descriptor` from 1.48.
//! - `GET /images/{name}/json`: `VirtualSize` and `Created` as the zero time when unset
//!   below 1.44; `Container` and `ContainerConfig` below 1.45; `Descriptor` and
//!   `Manifests` from 1.48; the container-only `Config` fields (`Hostname`,
//!   `AttachStdin`, `Image`...) below 1.50.
//! - `GET /info`: `SecurityOptions` as bare names below 1.25; `<unknown>` kernel and
//!   OS below 1.39; `KernelMemory` below 1.42 (and `KernelMemoryTCP` only when true from
//!   1.42); `CDISpecDirs` and runtimes' `status` from 1.44; `Containerd` from 1.46;
//!   `*Commit.Expected`, the `AllowNondistributableArtifacts*` registry fields below 1.49
//!   and `FirewallBackend` from 1.49; `BridgeNfIptables`/`BridgeNfIp6tables` below 1.50
//!   and `DiscoveredDevices` from 1.50.
//! - `GET /system/df`: `BuilderSize` below 1.42, and the image and container rules.
//! - `GET /containers/json`: `HostConfig.Annotations` from 1.46,
//!   `ImageManifestDescriptor` from 1.48; `GET /containers/{id}/json`:
//!   `ImageManifestDescriptor` from 1.48.
//! - `GET /events`: image `create` events from 1.46 ([`event_visible`]).
//! - Attach, exec and logs streams: `multiplexed-stream` as the media type of framed
//!   output from 1.42 ([`stdio_media_type`]).
//!
//! Requests:
//! - `POST /containers/create`: `AutoRemove` from 1.25; `KernelMemoryTCP`,
//!   `BindOptions.NonRecursive` from 1.40, and an empty `IpcMode` meant `shareable`
//!   before; `ConsoleSize`, `BindOptions.CreateMountpoint` from 1.42, and options of
//!   another mount type were dropped before; `KernelMemory` gone from 1.42 (zero is
//!   dropped at any version, any other value refused by the engine); `Annotations` from 1.43; `Healthcheck.StartInterval` from
//!   1.44; `GwPriority` from 1.48.
//! - `POST /containers/{id}/exec` and `POST /exec/{id}/start`: `ConsoleSize` from 1.42.
//!
//! Not applied, because Berth does not have what they concern: the `Aliases` with the
//! short id on user-defined networks below 1.45, the container-wide `MacAddress`
//! migration below 1.44 (no networks yet), and the cgroup namespace `host` default of
//! clients below 1.41 on cgroup v1 hosts (a Berth container always has its own cgroup
//! namespace, which `inspect` shows). The `NetworkSettings` fields deprecated in 1.44
//! (`HairpinMode`, `LinkLocalIPv6Address`...) are still sent by dockerd up to 1.50, and so
//! by Berth.

use crate::container::CreateRequest;
use crate::exec::{ExecConfig, ExecStartConfig};
use crate::image::{ImageInspect, ImageSummary};
use crate::inspect::{ContainerInspect, ContainerSummary};
use crate::progress::JsonMessage;
use crate::system::{DiskUsage, EventMessage, SystemInfo};
use crate::version::ApiVersion;
use crate::{ContainerConfig, ZERO_TIME};

const fn v(minor: u32) -> ApiVersion {
    ApiVersion(1, minor)
}

/// A request or an answer as a client of API version `v` sends or reads it.
pub trait ForVersion {
    /// Adapt `self` to API version `v`.
    fn for_version(&mut self, v: ApiVersion);

    /// `self`, adapted to API version `v`.
    fn versioned(mut self, v: ApiVersion) -> Self
    where
        Self: Sized,
    {
        self.for_version(v);
        self
    }
}

impl<T: ForVersion> ForVersion for Vec<T> {
    fn for_version(&mut self, v: ApiVersion) {
        for item in self {
            item.for_version(v);
        }
    }
}

impl ForVersion for ImageSummary {
    fn for_version(&mut self, ver: ApiVersion) {
        if ver < v(43) {
            let tags = self.repo_tags.take().unwrap_or_default();
            let digests = self.repo_digests.take().unwrap_or_default();
            if tags.is_empty() && digests.is_empty() {
                self.repo_tags = Some(vec!["<none>:<none>".into()]);
                self.repo_digests = Some(vec!["<none>@<none>".into()]);
            } else {
                self.repo_tags = Some(tags).filter(|t| !t.is_empty());
                self.repo_digests = Some(digests).filter(|d| !d.is_empty());
            }
        } else {
            self.repo_tags.get_or_insert_with(Vec::new);
            self.repo_digests.get_or_insert_with(Vec::new);
        }
        self.virtual_size = (ver < v(44)).then_some(self.size);
        if ver < v(47) {
            self.manifests = None;
        }
        if ver < v(48) {
            self.descriptor = None;
        }
    }
}

impl ForVersion for ImageInspect {
    fn for_version(&mut self, ver: ApiVersion) {
        if ver < v(44) {
            self.virtual_size = Some(self.size);
            if self.created.is_empty() {
                self.created = ZERO_TIME.into();
            }
        } else {
            self.virtual_size = None;
        }
        if ver < v(45) {
            self.container.get_or_insert_with(String::new);
            let cc = self.container_config.take().unwrap_or_default();
            self.container_config = Some(cc.with_legacy_fields());
        } else {
            self.container = None;
            self.container_config = None;
        }
        if ver < v(48) {
            self.descriptor = None;
            self.manifests = None;
        }
        if let Some(c) = self.config.take() {
            self.config = Some(if ver < v(50) {
                c.with_legacy_fields()
            } else {
                c.without_legacy_fields()
            });
        }
    }
}

impl ForVersion for SystemInfo {
    fn for_version(&mut self, ver: ApiVersion) {
        if ver < v(25) {
            // `name=seccomp,profile=default` → `seccomp`.
            for o in &mut self.security_options {
                if let Some(name) = o
                    .split(',')
                    .find_map(|kv| kv.strip_prefix("name="))
                    .map(str::to_string)
                {
                    *o = name;
                }
            }
        }
        if ver < v(39) {
            for s in [&mut self.kernel_version, &mut self.operating_system] {
                if s.is_empty() {
                    *s = "<unknown>".into();
                }
            }
        }
        if ver < v(42) {
            self.kernel_memory.get_or_insert(false);
            self.kernel_memory_tcp.get_or_insert(false);
        } else {
            self.kernel_memory = None;
            self.kernel_memory_tcp = self.kernel_memory_tcp.filter(|on| *on);
        }
        if ver < v(44) {
            self.cdi_spec_dirs = None;
            for r in self.runtimes.values_mut() {
                r.status = None;
            }
        }
        if ver < v(46) {
            self.containerd = None;
        }
        for c in [
            &mut self.containerd_commit,
            &mut self.runc_commit,
            &mut self.init_commit,
        ] {
            c.expected = (ver < v(49)).then(|| c.id.clone());
        }
        if let Some(r) = &mut self.registry_config {
            if ver < v(49) {
                r.allow_nondistributable_artifacts_cidrs
                    .get_or_insert_with(Vec::new);
                r.allow_nondistributable_artifacts_hostnames
                    .get_or_insert_with(Vec::new);
            } else {
                r.allow_nondistributable_artifacts_cidrs = None;
                r.allow_nondistributable_artifacts_hostnames = None;
            }
        }
        if ver < v(49) {
            self.firewall_backend = None;
        }
        if ver < v(50) {
            self.discovered_devices = None;
            self.bridge_nf_iptables.get_or_insert(false);
            self.bridge_nf_ip6tables.get_or_insert(false);
        } else {
            self.bridge_nf_iptables = None;
            self.bridge_nf_ip6tables = None;
        }
    }
}

impl ForVersion for DiskUsage {
    fn for_version(&mut self, ver: ApiVersion) {
        self.images.for_version(ver);
        self.containers.for_version(ver);
        let caches = self.build_cache.iter_mut().flatten();
        if ver < v(42) {
            let mut size = 0;
            for c in caches {
                size += c.size;
                c.parents = None;
            }
            self.builder_size = Some(size);
        } else {
            self.builder_size = None;
            for c in caches {
                c.parent.clear();
            }
        }
    }
}

impl ForVersion for ContainerSummary {
    fn for_version(&mut self, ver: ApiVersion) {
        if ver < v(46) {
            self.host_config.annotations = None;
        }
        if ver < v(48) {
            self.image_manifest_descriptor = None;
        }
    }
}

impl ForVersion for ContainerInspect {
    fn for_version(&mut self, ver: ApiVersion) {
        if ver < v(48) {
            self.image_manifest_descriptor = None;
        }
    }
}

/// The media type of an attach, exec or logs stream: framed output
/// (`multiplexed-stream`) is named as such from 1.42; a TTY's raw output, and any stream
/// before 1.42, is `raw-stream`.
pub fn stdio_media_type(ver: ApiVersion, tty: bool) -> &'static str {
    if !tty && ver >= v(42) {
        "application/vnd.docker.multiplexed-stream"
    } else {
        "application/vnd.docker.raw-stream"
    }
}

/// Whether a client of version `v` gets event `e`: image `create` events are new in 1.46.
pub fn event_visible(e: &EventMessage, ver: ApiVersion) -> bool {
    !(ver < v(46) && e.r#type == "image" && e.action == "create")
}

impl ForVersion for CreateRequest {
    fn for_version(&mut self, ver: ApiVersion) {
        let hc = &mut self.host_config;
        if ver < v(25) {
            // The client removes the container itself.
            hc.auto_remove = false;
        }
        if ver < v(40) {
            hc.resources.kernel_memory_tcp = 0;
            if hc.ipc_mode.is_empty() {
                hc.ipc_mode = "shareable".into();
            }
        }
        if ver < v(42) {
            hc.console_size = [0, 0];
        }
        // Zero means unset at any version. Set, it stays for the engine to refuse (dockerd
        // ignores it from 1.42, where it left the API: Berth ignores nothing it is sent).
        if hc.extra.get("KernelMemory").is_some_and(|k| k == 0) {
            hc.extra.remove("KernelMemory");
        }
        for m in hc.mounts.iter_mut().flatten() {
            if let Some(b) = &mut m.bind_options {
                if ver < v(40) {
                    b.non_recursive = false;
                }
                if ver < v(42) {
                    b.create_mountpoint = false;
                }
            }
            if ver < v(42) {
                // Not validated then: options of another type were ignored.
                if m.r#type != "volume" {
                    m.volume_options = None;
                }
                if m.r#type != "tmpfs" {
                    m.tmpfs_options = None;
                }
            }
        }
        if ver < v(43) {
            hc.annotations = None;
        }
        if ver < v(44) {
            drop_start_interval(&mut self.config);
        }
        if ver < v(48)
            && let Some(eps) = self
                .networking_config
                .as_mut()
                .and_then(|n| n.endpoints_config.as_mut())
        {
            for ep in eps.values_mut() {
                ep.gw_priority = 0;
            }
        }
    }
}

/// `Healthcheck.StartInterval` is new in 1.44.
fn drop_start_interval(c: &mut ContainerConfig) {
    if let Some(serde_json::Value::Object(h)) = &mut c.healthcheck {
        h.remove("StartInterval");
    }
}

impl ForVersion for ExecConfig {
    fn for_version(&mut self, ver: ApiVersion) {
        if ver < v(42) {
            self.console_size = None;
        }
    }
}

impl ForVersion for ExecStartConfig {
    fn for_version(&mut self, ver: ApiVersion) {
        if ver < v(42) {
            self.console_size = None;
        }
    }
}

/// Stream lines are the same in every version (`error` and `progress` are deprecated
/// since 1.48 but still sent).
impl ForVersion for JsonMessage {
    fn for_version(&mut self, _: ApiVersion) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        BindOptions, BuildCache, Commit, ImageConfig, Mount, OciDescriptor, RegistryServiceConfig,
        Runtime, TmpfsOptions,
    };
    use serde_json::json;

    fn summary() -> ImageSummary {
        ImageSummary {
            id: "sha256:a".into(),
            repo_tags: Some(vec![]),
            repo_digests: Some(vec![]),
            size: 7,
            descriptor: Some(OciDescriptor::default()),
            manifests: Some(vec![]),
            ..Default::default()
        }
    }

    #[test]
    fn image_list_none_placeholders_below_1_43() {
        let old = summary().versioned(v(42));
        assert_eq!(old.repo_tags, Some(vec!["<none>:<none>".to_string()]));
        assert_eq!(old.repo_digests, Some(vec!["<none>@<none>".to_string()]));
        // A tagged image without digests: `null` digests, as dockerd 20.10.
        let mut tagged = summary();
        tagged.repo_tags = Some(vec!["a:1".into()]);
        let old = tagged.versioned(v(41));
        assert_eq!(old.repo_digests, None);
        let new = summary().versioned(v(43));
        assert_eq!(new.repo_tags, Some(vec![]));
    }

    #[test]
    fn image_virtual_size_below_1_44() {
        assert_eq!(summary().versioned(v(43)).virtual_size, Some(7));
        assert_eq!(summary().versioned(v(44)).virtual_size, None);
        let i = ImageInspect {
            size: 9,
            ..Default::default()
        };
        let old = i.clone().versioned(v(43));
        assert_eq!(old.virtual_size, Some(9));
        assert_eq!(old.created, ZERO_TIME, "no Created: the zero time");
        let new = i.versioned(v(44));
        assert_eq!(new.virtual_size, None);
        assert_eq!(new.created, "", "no Created: left out");
    }

    #[test]
    fn image_manifests_from_1_47_descriptor_from_1_48() {
        let s = summary().versioned(v(46));
        assert!(s.manifests.is_none() && s.descriptor.is_none());
        let s = summary().versioned(v(47));
        assert!(s.manifests.is_some() && s.descriptor.is_none());
        let s = summary().versioned(v(48));
        assert!(s.descriptor.is_some());
        let i = ImageInspect {
            descriptor: Some(OciDescriptor::default()),
            ..Default::default()
        };
        assert!(i.clone().versioned(v(47)).descriptor.is_none());
        assert!(i.versioned(v(48)).descriptor.is_some());
    }

    #[test]
    fn image_container_fields_below_1_45() {
        let i = ImageInspect {
            container: Some("c".into()),
            container_config: Some(ImageConfig::default()),
            config: Some(ImageConfig::default()),
            ..Default::default()
        };
        let old = i.clone().versioned(v(44));
        assert_eq!(old.container.as_deref(), Some("c"));
        let cc = serde_json::to_value(old.container_config).expect("ser");
        assert_eq!(cc["Hostname"], "", "a whole container config");
        let new = i.versioned(v(45));
        assert!(new.container.is_none() && new.container_config.is_none());
    }

    #[test]
    fn image_config_container_fields_below_1_50() {
        let i = ImageInspect {
            config: Some(ImageConfig::default().with_legacy_fields()),
            ..Default::default()
        };
        let old = serde_json::to_value(i.clone().versioned(v(49))).expect("ser");
        assert_eq!(old["Config"]["AttachStdin"], false);
        assert_eq!(old["Config"]["Image"], "");
        let new = serde_json::to_value(i.versioned(v(50))).expect("ser");
        assert!(new["Config"].get("AttachStdin").is_none());
        assert!(new["Config"].get("Hostname").is_none());
        assert_eq!(new["Config"]["Env"], serde_json::Value::Null, "still shown");
    }

    fn info() -> SystemInfo {
        SystemInfo {
            security_options: vec!["name=seccomp,profile=default".into()],
            kernel_memory: Some(false),
            kernel_memory_tcp: Some(false),
            bridge_nf_iptables: Some(true),
            bridge_nf_ip6tables: Some(true),
            init_commit: Commit {
                id: "de40ad0".into(),
                expected: None,
            },
            cdi_spec_dirs: Some(vec![]),
            runtimes: [(
                "berth".to_string(),
                Runtime {
                    path: "/x".into(),
                    status: Some(Default::default()),
                    ..Default::default()
                },
            )]
            .into(),
            registry_config: Some(RegistryServiceConfig::default()),
            ..Default::default()
        }
    }

    #[test]
    fn info_security_options_are_names_below_1_25() {
        assert_eq!(info().versioned(v(24)).security_options, ["seccomp"]);
        assert_eq!(
            info().versioned(v(25)).security_options,
            ["name=seccomp,profile=default"]
        );
    }

    #[test]
    fn info_unknown_kernel_and_os_below_1_39() {
        let i = info().versioned(v(38));
        assert_eq!(
            (i.kernel_version.as_str(), i.operating_system.as_str()),
            ("<unknown>", "<unknown>")
        );
        assert_eq!(info().versioned(v(39)).kernel_version, "");
    }

    #[test]
    fn info_kernel_memory_below_1_42() {
        let i = info().versioned(v(41));
        assert_eq!(
            (i.kernel_memory, i.kernel_memory_tcp),
            (Some(false), Some(false))
        );
        let i = info().versioned(v(42));
        assert_eq!((i.kernel_memory, i.kernel_memory_tcp), (None, None));
        let mut on = info();
        on.kernel_memory_tcp = Some(true);
        assert_eq!(on.versioned(v(50)).kernel_memory_tcp, Some(true));
    }

    #[test]
    fn info_cdi_dirs_and_runtime_status_from_1_44() {
        let i = info().versioned(v(43));
        assert!(i.cdi_spec_dirs.is_none() && i.runtimes["berth"].status.is_none());
        let i = info().versioned(v(44));
        assert!(i.cdi_spec_dirs.is_some() && i.runtimes["berth"].status.is_some());
    }

    #[test]
    fn info_containerd_from_1_46() {
        let mut i = info();
        i.containerd = Some(Default::default());
        assert!(i.clone().versioned(v(45)).containerd.is_none());
        assert!(i.versioned(v(46)).containerd.is_some());
    }

    #[test]
    fn info_expected_commits_and_registry_fields_below_1_49() {
        let old = info().versioned(v(48));
        assert_eq!(old.init_commit.expected.as_deref(), Some("de40ad0"));
        assert_eq!(old.runc_commit.expected.as_deref(), Some(""));
        let r = old.registry_config.expect("registry");
        assert_eq!(r.allow_nondistributable_artifacts_cidrs, Some(vec![]));
        let mut new = info();
        new.firewall_backend = Some(Default::default());
        let new = new.versioned(v(49));
        assert_eq!(new.init_commit.expected, None);
        assert!(new.firewall_backend.is_some());
        let r = new.registry_config.expect("registry");
        assert_eq!(r.allow_nondistributable_artifacts_hostnames, None);
    }

    #[test]
    fn info_netfilter_switches_below_1_50() {
        let old = info().versioned(v(49));
        assert_eq!(old.bridge_nf_iptables, Some(true));
        assert!(old.discovered_devices.is_none());
        let new = info().versioned(v(50));
        assert_eq!(
            (new.bridge_nf_iptables, new.bridge_nf_ip6tables),
            (None, None)
        );
    }

    #[test]
    fn df_builder_size_below_1_42() {
        let du = DiskUsage {
            images: vec![summary()],
            build_cache: Some(vec![BuildCache {
                size: 3,
                parent: "p".into(),
                parents: Some(vec!["p".into()]),
                ..Default::default()
            }]),
            ..Default::default()
        };
        let old = du.clone().versioned(v(41));
        assert_eq!(old.builder_size, Some(3));
        assert_eq!(old.images[0].virtual_size, Some(7), "image rules apply");
        let caches = old.build_cache.expect("caches");
        assert_eq!(
            (caches[0].parent.as_str(), &caches[0].parents),
            ("p", &None)
        );
        let new = du.versioned(v(42));
        assert_eq!(new.builder_size, None);
        assert_eq!(new.build_cache.expect("caches")[0].parent, "");
        let none = DiskUsage::default().versioned(v(41));
        assert_eq!(none.build_cache, None, "no builder: null, as dockerd");
    }

    #[test]
    fn container_list_annotations_from_1_46_descriptor_from_1_48() {
        let mut c = ContainerSummary::default();
        c.host_config.annotations = Some(Default::default());
        c.image_manifest_descriptor = Some(OciDescriptor::default());
        let old = c.clone().versioned(v(45));
        assert!(old.host_config.annotations.is_none());
        let mid = c.clone().versioned(v(47));
        assert!(mid.host_config.annotations.is_some() && mid.image_manifest_descriptor.is_none());
        assert!(c.versioned(v(48)).image_manifest_descriptor.is_some());
        let i = ContainerInspect {
            image_manifest_descriptor: Some(OciDescriptor::default()),
            ..Default::default()
        };
        assert!(
            i.clone()
                .versioned(v(47))
                .image_manifest_descriptor
                .is_none()
        );
        assert!(i.versioned(v(48)).image_manifest_descriptor.is_some());
    }

    #[test]
    fn image_create_events_from_1_46() {
        let e = EventMessage {
            r#type: "image".into(),
            action: "create".into(),
            ..Default::default()
        };
        assert!(!event_visible(&e, v(45)));
        assert!(event_visible(&e, v(46)));
        let tag = EventMessage {
            action: "tag".into(),
            ..e
        };
        assert!(event_visible(&tag, v(24)));
    }

    fn create() -> CreateRequest {
        serde_json::from_value(json!({
            "Image": "busybox",
            "Healthcheck": {"Test": ["CMD", "true"], "StartInterval": 5},
            "HostConfig": {
                "AutoRemove": true, "KernelMemoryTCP": 5, "ConsoleSize": [24, 80],
                "Annotations": {"a": "b"}, "KernelMemory": 0,
                "Mounts": [{"Type": "bind", "Source": "/s", "Target": "/t",
                    "BindOptions": {"NonRecursive": true, "CreateMountpoint": true},
                    "TmpfsOptions": {"SizeBytes": 1}}]
            },
            "NetworkingConfig": {"EndpointsConfig": {"n": {"GwPriority": 3}}}
        }))
        .expect("parse")
    }

    fn bind(r: &CreateRequest) -> &Mount {
        &r.host_config.mounts.as_ref().expect("mounts")[0]
    }

    #[test]
    fn create_auto_remove_from_1_25() {
        assert!(!create().versioned(v(24)).host_config.auto_remove);
        assert!(create().versioned(v(25)).host_config.auto_remove);
    }

    #[test]
    fn create_ipc_non_recursive_and_kernel_tcp_from_1_40() {
        let old = create().versioned(v(39));
        assert_eq!(old.host_config.ipc_mode, "shareable");
        assert_eq!(old.host_config.resources.kernel_memory_tcp, 0);
        let b: &BindOptions = bind(&old).bind_options.as_ref().expect("bind");
        assert!(!b.non_recursive);
        let new = create().versioned(v(40));
        assert_eq!(new.host_config.ipc_mode, "");
        assert_eq!(new.host_config.resources.kernel_memory_tcp, 5);
        assert!(
            bind(&new)
                .bind_options
                .as_ref()
                .expect("bind")
                .non_recursive
        );
    }

    #[test]
    fn create_console_size_create_mountpoint_and_stray_options_from_1_42() {
        let old = create().versioned(v(41));
        assert_eq!(old.host_config.console_size, [0, 0]);
        assert!(
            !bind(&old)
                .bind_options
                .as_ref()
                .expect("bind")
                .create_mountpoint
        );
        assert!(bind(&old).tmpfs_options.is_none(), "ignored before 1.42");
        let new = create().versioned(v(42));
        assert_eq!(new.host_config.console_size, [24, 80]);
        // Kept from 1.42: the engine refuses tmpfs options on a bind, as dockerd.
        assert_eq!(
            bind(&new).tmpfs_options,
            Some(TmpfsOptions {
                size_bytes: 1,
                ..Default::default()
            })
        );
    }

    #[test]
    fn create_kernel_memory_gone_from_1_42() {
        assert!(
            !create()
                .versioned(v(41))
                .host_config
                .extra
                .contains_key("KernelMemory")
        );
        let mut set: CreateRequest = create();
        set.host_config
            .extra
            .insert("KernelMemory".into(), json!(4194304));
        let old = set.clone().versioned(v(41));
        assert!(
            old.host_config.extra.contains_key("KernelMemory"),
            "left to refuse"
        );
        assert!(
            set.versioned(v(42))
                .host_config
                .extra
                .contains_key("KernelMemory"),
            "left to refuse at 1.42 too (dockerd ignores it)"
        );
    }

    #[test]
    fn create_annotations_from_1_43() {
        assert!(create().versioned(v(42)).host_config.annotations.is_none());
        assert!(create().versioned(v(43)).host_config.annotations.is_some());
    }

    #[test]
    fn create_start_interval_from_1_44() {
        let old = create().versioned(v(43));
        assert!(
            old.config
                .healthcheck
                .expect("hc")
                .get("StartInterval")
                .is_none()
        );
        let new = create().versioned(v(44));
        assert_eq!(new.config.healthcheck.expect("hc")["StartInterval"], 5);
    }

    #[test]
    fn create_gw_priority_from_1_48() {
        let prio = |r: CreateRequest| {
            r.networking_config
                .expect("nc")
                .endpoints_config
                .expect("eps")["n"]
                .gw_priority
        };
        assert_eq!(prio(create().versioned(v(47))), 0);
        assert_eq!(prio(create().versioned(v(48))), 3);
    }

    #[test]
    fn exec_console_size_from_1_42() {
        let c = ExecConfig {
            console_size: Some([24, 80]),
            ..Default::default()
        };
        assert_eq!(c.clone().versioned(v(41)).console_size, None);
        assert_eq!(c.versioned(v(42)).console_size, Some([24, 80]));
        let s = ExecStartConfig {
            console_size: Some([24, 80]),
            ..Default::default()
        };
        assert_eq!(s.clone().versioned(v(41)).console_size, None);
        assert_eq!(s.versioned(v(42)).console_size, Some([24, 80]));
    }
}
