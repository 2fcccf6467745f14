//! `--runtime NAME`: which OCI runtime creates a container. Berth's own (the shim's init)
//! is the default; others (`berthd --add-runtime NAME=PATH`, and `runc` when it is on
//! PATH) are driven by the shim through their command line. `berthd --default-runtime`
//! picks the one for containers that name none.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::Engine;
use crate::error::{Error, Result};

/// The name of Berth's own runtime, the default.
pub const DEFAULT_RUNTIME: &str = "berth";

impl Engine {
    /// The runtime a container asks for (HostConfig.Runtime, "" for the default): its name
    /// as recorded, and the binary for another runtime. 400 like Docker for an unknown one.
    pub(crate) fn runtime_for(&self, requested: &str) -> Result<(String, Option<PathBuf>)> {
        let requested = if requested.is_empty() {
            self.config().default_runtime.as_str()
        } else {
            requested
        };
        if requested.is_empty() || requested == DEFAULT_RUNTIME {
            return Ok((DEFAULT_RUNTIME.to_string(), None));
        }
        match self.config().runtimes.get(requested) {
            Some(path) => Ok((requested.to_string(), Some(path.clone()))),
            None => Err(Error::invalid(format!(
                "unknown or invalid runtime name: {requested}"
            ))),
        }
    }

    /// `GET /info` Runtimes and DefaultRuntime.
    pub fn runtimes_info(&self) -> (Value, &str) {
        let mut m = serde_json::Map::new();
        m.insert(
            DEFAULT_RUNTIME.into(),
            json!({ "path": self.config().shim_binary }),
        );
        for (name, path) in &self.config().runtimes {
            m.insert(name.clone(), json!({ "path": path }));
        }
        let default = match self.config().default_runtime.as_str() {
            "" => DEFAULT_RUNTIME,
            d => d,
        };
        (Value::Object(m), default)
    }
}
