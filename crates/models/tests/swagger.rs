//! Every model against the Engine API's own examples: each example body of the swagger
//! (`fixtures/swagger/examples.json`, extracted by `fixtures/swagger/extract.py`) must
//! parse into its type and come back with every field it had, with the same value.

mod roundtrip;

use berth_models::*;
use roundtrip::{check, examples};

/// Examples whose bodies the swagger gets wrong (the type says otherwise), with why.
const SWAGGER_MISTAKES: &[(&str, &str, &str)] = &[
    // `ContainerSummary.Created` is an integer (Unix seconds), the example a date.
    ("ContainerSummary", ".Created", "a date, for Unix seconds"),
    (
        "response GET /containers/json 200",
        "[0].Created",
        "a date, for Unix seconds",
    ),
    // The property examples repeat the property's name: `{"Titles": {"Titles": [...]}}`.
    (
        "ContainerTopResponse",
        ".Processes",
        "nested under its own name",
    ),
    (
        "ContainerTopResponse",
        ".Titles",
        "nested under its own name",
    ),
    (
        "response GET /containers/{id}/top 200",
        ".Processes",
        "nested under its own name",
    ),
    (
        "response GET /containers/{id}/top 200",
        ".Titles",
        "nested under its own name",
    ),
    // `GwPriority` is an integer; the example a list.
    ("EndpointSettings", ".GwPriority", "a list, for an integer"),
    // `LinkLocalIPv6PrefixLen` is an integer; the example "".
    (
        "NetworkSettings",
        ".LinkLocalIPv6PrefixLen",
        "\"\", for an integer",
    ),
    (
        "ContainerInspectResponse",
        ".NetworkSettings.LinkLocalIPv6PrefixLen",
        "\"\", for an integer",
    ),
    (
        "response GET /containers/{id}/json 200",
        ".NetworkSettings.LinkLocalIPv6PrefixLen",
        "\"\", for an integer",
    ),
    // The create example spells the key `DeviceIDs"` (with the quote).
    (
        "request POST /containers/create",
        ".HostConfig.DeviceRequests[0].DeviceIDs\"",
        "a stray quote in the key",
    ),
    // The connect example names `GwPriority` `Priority`.
    (
        "request POST /networks/{id}/connect",
        ".EndpointConfig.Priority",
        "`Priority`, for `GwPriority`",
    ),
];

macro_rules! table {
    ($($key:literal => $ty:ty,)*) => {
        fn run(ex: &serde_json::Map<String, serde_json::Value>, errors: &mut Vec<String>) -> Vec<&'static str> {
            let mut seen = Vec::new();
            $(
                seen.push($key);
                match ex.get($key) {
                    Some(v) => errors.extend(check::<$ty>($key, v, SWAGGER_MISTAKES)),
                    None => errors.push(format!("{}: no such example in the swagger", $key)),
                }
            )*
            seen
        }
    };
}

table! {
    "AuthConfig" => AuthConfig,
    "BuildCache" => BuildCache,
    "BuildInfo" => JsonMessage,
    "Commit" => Commit,
    "ContainerBlkioStatEntry" => BlkioStatEntry,
    "ContainerBlkioStats" => BlkioStats,
    "ContainerCPUStats" => CpuStats,
    "ContainerCPUUsage" => CpuUsage,
    "ContainerConfig" => ContainerConfig,
    "ContainerCreateResponse" => CreateResponse,
    "ContainerInspectResponse" => ContainerInspect,
    "ContainerMemoryStats" => MemoryStats,
    "ContainerNetworkStats" => NetworkStats,
    "ContainerPidsStats" => PidsStats,
    "ContainerState" => ContainerState,
    "ContainerStatsResponse" => ContainerStatsResponse,
    "ContainerStorageStats" => StorageStats,
    "ContainerSummary" => ContainerSummary,
    "ContainerThrottlingData" => ThrottlingData,
    "ContainerTopResponse" => ContainerTopResponse,
    "ContainerUpdateResponse" => UpdateResponse,
    "ContainerdInfo" => ContainerdInfo,
    "DeviceInfo" => DeviceInfo,
    "DeviceMapping" => DeviceMapping,
    "DeviceRequest" => DeviceRequest,
    "DistributionInspect" => DistributionInspect,
    "DriverData" => GraphDriverData,
    "EndpointIPAMConfig" => EndpointIpamConfig,
    "EndpointSettings" => EndpointSettings,
    "ErrorResponse" => ErrorResponse,
    "EventActor" => EventActor,
    "EventMessage" => EventMessage,
    "FirewallInfo" => FirewallInfo,
    "Health" => Health,
    "HealthcheckResult" => HealthLog,
    "HostConfig" => HostConfig,
    "IPAM" => Ipam,
    "IPAMConfig" => IpamConfig,
    "ImageConfig" => ImageConfig,
    "ImageID" => ImageId,
    "ImageInspect" => ImageInspect,
    "ImageManifestSummary" => ImageManifestSummary,
    "ImageSummary" => ImageSummary,
    "IndexInfo" => IndexInfo,
    "Mount" => Mount,
    "MountPoint" => MountPoint,
    "Network" => Network,
    "NetworkContainer" => NetworkContainer,
    "NetworkCreateResponse" => NetworkCreateResponse,
    "NetworkSettings" => NetworkSettings,
    "NetworkingConfig" => NetworkingConfig,
    "OCIDescriptor" => OciDescriptor,
    "OCIPlatform" => OciPlatform,
    "PluginsInfo" => PluginsInfo,
    "Port" => Port,
    "PortBinding" => PortBinding,
    "RegistryServiceConfig" => RegistryServiceConfig,
    "Resources" => Resources,
    "Runtime" => Runtime,
    "SystemInfo" => SystemInfo,
    "SystemVersion" => SystemVersion,
    "Volume" => Volume,
    "VolumeCreateOptions" => VolumeCreateOptions,
    "VolumeListResponse" => VolumeListResponse,
    "request POST /auth" => AuthConfig,
    "request POST /commit" => ContainerConfig,
    "request POST /containers/create" => CreateRequest,
    "request POST /containers/{id}/exec" => ExecConfig,
    "request POST /containers/{id}/update" => ContainerUpdate,
    "request POST /exec/{id}/start" => ExecStartConfig,
    "request POST /networks/create" => NetworkCreateRequest,
    "request POST /networks/{id}/connect" => NetworkConnectRequest,
    "request POST /volumes/create" => VolumeCreateOptions,
    "response DELETE /images/{name} 200" => Vec<ImageDeleteResponseItem>,
    "response GET /containers/json 200" => Vec<ContainerSummary>,
    "response GET /containers/{id}/changes 200" => Vec<FilesystemChange>,
    "response GET /containers/{id}/json 200" => ContainerInspect,
    "response GET /containers/{id}/stats 200" => ContainerStatsResponse,
    "response GET /containers/{id}/top 200" => ContainerTopResponse,
    "response GET /distribution/{name}/json 200" => DistributionInspect,
    "response GET /events 200" => EventMessage,
    "response GET /exec/{id}/json 200" => ExecInspect,
    "response GET /images/json 200" => Vec<ImageSummary>,
    "response GET /images/search 200" => Vec<ImageSearchResponseItem>,
    "response GET /images/{name}/history 200" => Vec<ImageHistoryResponseItem>,
    "response GET /images/{name}/json 200" => ImageInspect,
    "response GET /info 200" => SystemInfo,
    "response GET /networks 200" => Vec<Network>,
    "response GET /networks/{id} 200" => Network,
    "response GET /system/df 200" => DiskUsage,
    "response GET /version 200" => SystemVersion,
    "response GET /volumes 200" => VolumeListResponse,
    "response GET /volumes/{name} 200" => Volume,
    "response POST /auth 200" => AuthResponse,
    "response POST /containers/create 201" => CreateResponse,
    "response POST /containers/{id}/update 200" => UpdateResponse,
    "response POST /networks/create 201" => NetworkCreateResponse,
    "response POST /volumes/create 201" => Volume,
}

#[test]
fn every_swagger_example_round_trips() {
    let ex = examples();
    let mut errors = Vec::new();
    let seen = run(&ex, &mut errors);
    // Every extracted example is checked: a new one needs its type in the table.
    for key in ex.keys() {
        if !seen.contains(&key.as_str()) {
            errors.push(format!("{key}: example without a type in the table"));
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
