//! The labels docker-compose puts on what it creates (`com.docker.compose.*`), by which
//! it finds its containers, networks and volumes again: compose 1.29 and compose v2.

/// The project (directory name or `-p`), on containers, networks and volumes.
pub const PROJECT: &str = "com.docker.compose.project";
/// The service a container belongs to.
pub const SERVICE: &str = "com.docker.compose.service";
/// The container's number within its service (`1`, `2`...).
pub const CONTAINER_NUMBER: &str = "com.docker.compose.container-number";
/// `True` for a `run` container, `False` for a service's.
pub const ONEOFF: &str = "com.docker.compose.oneoff";
/// The compose version that made it (`1.29.2`).
pub const VERSION: &str = "com.docker.compose.version";
/// A hash of the service's configuration, to tell when to recreate.
pub const CONFIG_HASH: &str = "com.docker.compose.config-hash";
/// A network's name within its project.
pub const NETWORK: &str = "com.docker.compose.network";
/// A volume's name within its project.
pub const VOLUME: &str = "com.docker.compose.volume";
/// A one-off container's slug (compose 1.x).
pub const SLUG: &str = "com.docker.compose.slug";
/// The project's directory (compose v2, and 1.29).
pub const PROJECT_WORKING_DIR: &str = "com.docker.compose.project.working_dir";
/// The compose files, comma-separated.
pub const PROJECT_CONFIG_FILES: &str = "com.docker.compose.project.config_files";
/// The env files (compose v2).
pub const PROJECT_ENVIRONMENT_FILE: &str = "com.docker.compose.project.environment_file";
/// The services a service depends on (compose v2).
pub const DEPENDS_ON: &str = "com.docker.compose.depends_on";
/// The image digest a container was created from (compose v2).
pub const IMAGE: &str = "com.docker.compose.image";
/// The container a new one replaces (compose v2).
pub const REPLACE: &str = "com.docker.compose.replace";

/// Every label above: what marks an object as compose's.
pub const ALL: [&str; 15] = [
    PROJECT,
    SERVICE,
    CONTAINER_NUMBER,
    ONEOFF,
    VERSION,
    CONFIG_HASH,
    NETWORK,
    VOLUME,
    SLUG,
    PROJECT_WORKING_DIR,
    PROJECT_CONFIG_FILES,
    PROJECT_ENVIRONMENT_FILE,
    DEPENDS_ON,
    IMAGE,
    REPLACE,
];
