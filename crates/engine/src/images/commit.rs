//! Images from containers and tars: `commit`, `import`; and a container's filesystem:
//! `diff` (changes), `export` (the merged tree as a tar). The layer work is the store's
//! (`berth_store::layertar`, `Store::commit_layer`, `Store::import_layer`); this module
//! picks the layers, pauses the container, and builds the image config with Docker's
//! `--change` instructions applied.

use std::io::{Read, Write};
use std::path::PathBuf;

use berth_models::{ContainerConfig, FilesystemChange};
use berth_store::{NewImage, layertar};
use serde_json::{Map, Value};

use crate::{Engine, Error, Result, containers::parse_signal, time};

/// What `POST /commit` asks for.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    pub repo: String,
    pub tag: String,
    pub comment: String,
    pub author: String,
    /// Freeze the container while its layer is read (Docker's default).
    pub pause: bool,
    /// Dockerfile instructions (`--change`).
    pub changes: Vec<String>,
    /// A container config to use instead of the container's (the request body).
    pub config: Option<ContainerConfig>,
}

/// `repo` and `tag` query parameters as one normalised reference (`None` without a repo).
/// `repo` may carry the tag itself (`docker import` sends `repo=name:tag`).
pub fn reference(repo: &str, tag: &str) -> Result<Option<String>> {
    if repo.is_empty() {
        if !tag.is_empty() {
            return Err(Error::invalid("tag is specified without a repository"));
        }
        return Ok(None);
    }
    let full = if tag.is_empty() {
        repo.to_string()
    } else {
        let name = match repo.rfind(':') {
            Some(i) if !repo[i..].contains('/') => &repo[..i],
            _ => repo,
        };
        format!("{name}:{tag}")
    };
    Ok(Some(berth_store::normalize(&full)?))
}

impl Engine {
    /// `POST /commit`: a new image from the container's writable layer on its image.
    pub async fn commit(&self, key: &str, opts: CommitOptions) -> Result<String> {
        let entry = self.lookup(key)?;
        // No start, stop, remove or other commit of this container meanwhile.
        let _op = entry.op.lock().await;
        let rec = entry.record().clone();
        if rec.state.status == "removing" || entry.progress.borrow().removed {
            return Err(Error::conflict(format!(
                "cannot commit container {}: it is being removed",
                rec.id
            )));
        }
        let tag = reference(&opts.repo, &opts.tag)?;
        let image = self.store.get(&rec.image_id)?;
        let mut config = opts.config.unwrap_or_else(|| rec.config.clone());
        apply_changes(&mut config, &opts.changes)?;
        merge(&mut config, &rec.config);
        let config = to_value(&config)?;
        let container_config = to_value(&rec.config)?;

        let pause = opts.pause
            && rec.state.running
            && !rec.state.paused
            && self.pause_for_commit(&rec.id).await?;
        crate::fault::point("commit.frozen");
        let new = NewImage {
            config,
            parent: Some(image),
            author: Some(opts.author).filter(|a| !a.is_empty()),
            comment: Some(opts.comment).filter(|c| !c.is_empty()),
            container: Some(rec.id.clone()),
            container_config: Some(container_config),
            created: time::now_rfc3339(),
            created_by: Some(rec.config.cmd.clone().unwrap_or_default().join(" ")),
            tag,
        };
        let store = self.store.clone();
        let upper = self.paths(&rec.id).upper();
        let result = tokio::task::spawn_blocking(move || store.commit_layer(&upper, new))
            .await
            .map_err(|e| Error::internal(e.to_string()));
        if matches!(result, Ok(Ok(_))) {
            crate::fault::point("commit.stored");
        }
        if pause {
            self.unpause_after_commit(&rec.id).await;
        }
        let id: String = result??;
        self.container_event(&rec, "commit", &[("imageID", id.clone())]);
        Ok(id)
    }

    /// The container's writable layer and its image's layers, top-most first.
    fn layer_stack(&self, key: &str) -> Result<(PathBuf, Vec<PathBuf>)> {
        let entry = self.lookup(key)?;
        let (id, image_id) = {
            let r = entry.record();
            (r.id.clone(), r.image_id.clone())
        };
        let image = self.store.get(&image_id)?;
        let mut lowers = self.store.layer_dirs(&image)?;
        lowers.reverse();
        Ok((self.paths(&id).upper(), lowers))
    }

    /// `GET /containers/{id}/changes`.
    pub async fn changes(&self, key: &str) -> Result<Vec<FilesystemChange>> {
        let (upper, lowers) = self.layer_stack(key)?;
        let list = tokio::task::spawn_blocking(move || layertar::changes(&upper, &lowers))
            .await
            .map_err(|e| Error::internal(e.to_string()))??;
        Ok(list
            .into_iter()
            .map(|c| FilesystemChange {
                path: c.path,
                kind: c.kind,
            })
            .collect())
    }

    /// `GET /containers/{id}/export`: checks the container now; the returned closure
    /// writes the tar of its merged filesystem (blocking).
    pub fn export(
        &self,
        key: &str,
    ) -> Result<impl FnOnce(&mut dyn Write) -> Result<()> + Send + 'static> {
        let (upper, lowers) = self.layer_stack(key)?;
        Ok(move |w: &mut dyn Write| {
            let mut stack = vec![upper];
            stack.extend(lowers);
            let mut out = berth_archive::Writer::new(w, berth_archive::WriteOptions::default());
            layertar::write_merged(&stack, &mut out)?;
            out.finish().map_err(berth_store::Error::from)?;
            Ok(())
        })
    }

    /// `POST /images/create?fromSrc=-`: a rootfs tar (plain, gzip or zstd) as a new image.
    pub async fn import(
        &self,
        mut input: Box<dyn Read + Send>,
        repo: &str,
        tag: &str,
        message: &str,
        changes: &[String],
    ) -> Result<String> {
        let tag = reference(repo, tag)?;
        let mut config = ContainerConfig::default();
        apply_changes(&mut config, changes)?;
        let new = NewImage {
            config: zero_based(&config)?,
            // Docker's default message names the source (always stdin here).
            comment: Some(if message.is_empty() {
                "Imported from -".to_string()
            } else {
                message.to_string()
            }),
            created: time::now_rfc3339(),
            tag,
            ..Default::default()
        };
        let store = self.store.clone();
        let id: String = tokio::task::spawn_blocking(move || store.import_layer(&mut input, new))
            .await
            .map_err(|e| Error::internal(e.to_string()))??;
        self.image_event("import", &id, &id);
        Ok(id)
    }
}

/// Split Dockerfile words: whitespace separates, quotes group (`"..."` with `\` escapes,
/// `'...'` literal), `\` escapes outside quotes.
fn words(s: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(n) => cur.push(n),
                            None => return Err(Error::invalid("unexpected end of quoted string")),
                        },
                        Some(n) => cur.push(n),
                        None => return Err(Error::invalid(format!("unmatched quote in {s:?}"))),
                    }
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(n) => cur.push(n),
                        None => return Err(Error::invalid(format!("unmatched quote in {s:?}"))),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// `KEY=value ...` pairs, or the legacy `KEY value with spaces`.
fn pairs(instr: &str, rest: &str) -> Result<Vec<(String, String)>> {
    let ws = words(rest)?;
    let Some(first) = ws.first() else {
        return Err(Error::invalid(format!(
            "{instr} requires at least one argument"
        )));
    };
    if !first.contains('=') {
        let value = rest.trim_start()[first.len()..].trim().to_string();
        let value = words(&value)?.join(" ");
        return Ok(vec![(first.clone(), value)]);
    }
    ws.iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(Error::invalid(format!(
                "{instr} names can not be blank: {w:?}"
            ))),
        })
        .collect()
}

/// Exec form (`["a","b"]`) or shell form (run by `/bin/sh -c`, or the config's `Shell`).
fn command(rest: &str, shell: Option<&[String]>) -> Vec<String> {
    let t = rest.trim();
    if t.starts_with('[')
        && let Ok(v) = serde_json::from_str::<Vec<String>>(t)
    {
        return v;
    }
    let mut argv: Vec<String> = match shell {
        Some(s) if !s.is_empty() => s.to_vec(),
        _ => vec!["/bin/sh".into(), "-c".into()],
    };
    argv.push(t.to_string());
    argv
}

/// The `{}` values of `ExposedPorts` and `Volumes`.
fn empty_object() -> Value {
    Value::Object(Map::new())
}

/// A config as the image config blob records it.
fn to_value(c: &ContainerConfig) -> Result<Value> {
    serde_json::to_value(c).map_err(|e| Error::internal(e.to_string()))
}

/// An import's config: dockerd applies the changes to an empty container config, whose
/// unset lists and maps are `null`.
fn zero_based(c: &ContainerConfig) -> Result<Value> {
    let mut v = to_value(c)?;
    if c.env.is_empty() {
        v["Env"] = Value::Null;
    }
    if c.labels.is_empty() {
        v["Labels"] = Value::Null;
    }
    Ok(v)
}

/// `80`, `53/udp`, `8000-8002/tcp` → `80/tcp`, ...
fn ports(spec: &str) -> Result<Vec<String>> {
    let bad = || Error::invalid(format!("invalid containerPort: {spec}"));
    let (range, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(Error::invalid(format!("invalid proto: {proto}")));
    }
    let (a, b) = range.split_once('-').unwrap_or((range, range));
    let a: u16 = a.parse().map_err(|_| bad())?;
    let b: u16 = b.parse().map_err(|_| bad())?;
    if b < a {
        return Err(bad());
    }
    Ok((a..=b).map(|p| format!("{p}/{proto}")).collect())
}

/// Apply Dockerfile instructions (`docker commit/import --change`) to a container config.
/// Allowed: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME,
/// WORKDIR.
pub fn apply_changes(config: &mut ContainerConfig, changes: &[String]) -> Result<()> {
    let mut cmd_set = false;
    for line in changes.iter().flat_map(|c| c.lines()) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (instr, rest) = line
            .split_once(char::is_whitespace)
            .map_or((line, ""), |(a, b)| (a, b.trim()));
        let upper = instr.to_ascii_uppercase();
        let need_arg = || {
            if rest.is_empty() {
                Err(Error::invalid(format!(
                    "{upper} requires at least one argument"
                )))
            } else {
                Ok(())
            }
        };
        match upper.as_str() {
            "CMD" => {
                need_arg()?;
                config.cmd = Some(command(rest, config.shell.as_deref()));
                cmd_set = true;
            }
            "ENTRYPOINT" => {
                need_arg()?;
                config.entrypoint = Some(command(rest, config.shell.as_deref()));
                if !cmd_set {
                    config.cmd = None;
                }
            }
            "ENV" => {
                for (k, v) in pairs("ENV", rest)? {
                    let kv = format!("{k}={v}");
                    match config
                        .env
                        .iter_mut()
                        .find(|e| e.split('=').next() == Some(k.as_str()))
                    {
                        Some(slot) => *slot = kv,
                        None => config.env.push(kv),
                    }
                }
            }
            "LABEL" => {
                for (k, v) in pairs("LABEL", rest)? {
                    config.labels.insert(k, v);
                }
            }
            "EXPOSE" => {
                need_arg()?;
                for w in words(rest)? {
                    for p in ports(&w)? {
                        config
                            .exposed_ports
                            .get_or_insert_with(Default::default)
                            .insert(p, empty_object());
                    }
                }
            }
            "USER" => {
                need_arg()?;
                config.user = rest.to_string();
            }
            "WORKDIR" => {
                need_arg()?;
                let dir = words(rest)?.join(" ");
                let new = if dir.starts_with('/') {
                    dir
                } else {
                    let base = config.working_dir.as_str();
                    let base = if base.is_empty() { "/" } else { base };
                    format!("{}/{dir}", base.trim_end_matches('/'))
                };
                config.working_dir = new;
            }
            "VOLUME" => {
                need_arg()?;
                let vols: Vec<String> = match serde_json::from_str::<Vec<String>>(rest) {
                    Ok(v) if rest.starts_with('[') => v,
                    _ => words(rest)?,
                };
                for v in vols {
                    if v.trim().is_empty() {
                        return Err(Error::invalid(
                            "VOLUME specified can not be an empty string",
                        ));
                    }
                    config
                        .volumes
                        .get_or_insert_with(Default::default)
                        .insert(v, empty_object());
                }
            }
            "STOPSIGNAL" => {
                need_arg()?;
                parse_signal(rest)?;
                config.stop_signal = Some(rest.to_string());
            }
            "ONBUILD" => {
                need_arg()?;
                let (sub, _) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                let sub = sub.to_ascii_uppercase();
                if matches!(sub.as_str(), "ONBUILD" | "FROM" | "MAINTAINER") {
                    return Err(Error::invalid(format!(
                        "{sub} isn't allowed as an ONBUILD trigger"
                    )));
                }
                let trigger = format!("{sub}{}", rest.get(sub.len()..).unwrap_or_default());
                config.on_build.get_or_insert_with(Vec::new).push(trigger);
            }
            _ => {
                return Err(Error::invalid(format!(
                    "{} is not a valid change command",
                    instr.to_ascii_lowercase()
                )));
            }
        }
    }
    Ok(())
}

/// A list that is missing or empty.
fn unset(v: &Option<Vec<String>>) -> bool {
    v.as_ref().is_none_or(Vec::is_empty)
}

/// Docker's `merge` of a commit: what the new config leaves empty comes from the
/// container's.
fn merge(user: &mut ContainerConfig, base: &ContainerConfig) {
    if user.user.is_empty() {
        user.user = base.user.clone();
    }
    if user.working_dir.is_empty() {
        user.working_dir = base.working_dir.clone();
    }
    if user.stop_signal.as_deref().is_none_or(str::is_empty)
        && base.stop_signal.as_deref().is_some_and(|s| !s.is_empty())
    {
        user.stop_signal = base.stop_signal.clone();
    }
    for (mine, theirs) in [
        (&mut user.exposed_ports, &base.exposed_ports),
        (&mut user.volumes, &base.volumes),
    ] {
        if let Some(b) = theirs {
            let m = mine.get_or_insert_with(Default::default);
            for (k, v) in b {
                m.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    for (k, v) in &base.labels {
        user.labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for kv in &base.env {
        let key = kv.split('=').next().unwrap_or("");
        if !user.env.iter().any(|e| e.split('=').next() == Some(key)) {
            user.env.push(kv.clone());
        }
    }
    if unset(&user.entrypoint) {
        if unset(&user.cmd) {
            user.cmd = base.cmd.clone();
        }
        if user.entrypoint.is_none() {
            user.entrypoint = base.entrypoint.clone();
        }
    }
    if user.healthcheck.is_none() && base.healthcheck.is_some() {
        user.healthcheck = base.healthcheck.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::json;

    fn cfg(v: Value) -> ContainerConfig {
        serde_json::from_value(v).expect("config")
    }

    fn changed(base: Value, changes: &[&str]) -> Value {
        let mut c = cfg(base);
        apply_changes(
            &mut c,
            &changes.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
        .expect("changes");
        serde_json::to_value(c).expect("ser")
    }

    #[test]
    fn dockerfile_changes_apply_like_docker() {
        let c = changed(
            json!({"Env": ["PATH=/bin", "A=1"], "Cmd": ["sh"], "WorkingDir": "/app"}),
            &[
                "ENV A=2 B=\"two words\"",
                "ENV LEGACY some value",
                "CMD echo hi",
                "EXPOSE 80 53/udp",
                "LABEL a=b \"c d\"=e",
                "USER nobody",
                "WORKDIR sub",
                "VOLUME [\"/data\"]",
                "VOLUME /v1 /v2",
                "STOPSIGNAL SIGINT",
                "onbuild run echo x",
            ],
        );
        assert_eq!(
            c["Env"],
            json!(["PATH=/bin", "A=2", "B=two words", "LEGACY=some value"])
        );
        assert_eq!(c["Cmd"], json!(["/bin/sh", "-c", "echo hi"]));
        assert_eq!(c["ExposedPorts"], json!({"80/tcp": {}, "53/udp": {}}));
        assert_eq!(c["Labels"], json!({"a": "b", "c d": "e"}));
        assert_eq!(c["User"], "nobody");
        assert_eq!(c["WorkingDir"], "/app/sub");
        assert_eq!(c["Volumes"], json!({"/data": {}, "/v1": {}, "/v2": {}}));
        assert_eq!(c["StopSignal"], "SIGINT");
        assert_eq!(c["OnBuild"], json!(["RUN echo x"]));

        // ENTRYPOINT resets a CMD that this change list did not set.
        let c = changed(
            json!({"Cmd": ["sh"]}),
            &["ENTRYPOINT [\"/bin/echo\", \"x\"]"],
        );
        assert_eq!(c["Entrypoint"], json!(["/bin/echo", "x"]));
        assert!(c["Cmd"].is_null());
        let c = changed(json!({}), &["CMD [\"a\"]", "ENTRYPOINT [\"e\"]"]);
        assert_eq!(c["Cmd"], json!(["a"]));
    }

    #[test]
    fn bad_changes_are_refused() {
        for bad in [
            "RUN echo",
            "FROM busybox",
            "EXPOSE 80/xyz",
            "EXPOSE abc",
            "STOPSIGNAL NOPE",
            "ENV",
            "ONBUILD FROM x",
            "ENV A=\"unterminated",
        ] {
            let mut c = ContainerConfig::default();
            assert!(
                apply_changes(&mut c, &[bad.to_string()]).is_err(),
                "{bad} accepted"
            );
        }
        let mut c = ContainerConfig::default();
        let e = apply_changes(&mut c, &["RUN x".into()]).expect_err("run");
        assert_eq!(e.message, "run is not a valid change command");
    }

    #[test]
    fn merge_fills_from_the_container() {
        let base = cfg(
            json!({"Env": ["PATH=/bin", "A=1"], "Cmd": ["sh"], "User": "u",
            "Labels": {"x": "1"}, "WorkingDir": "/w"}),
        );
        let mut user = cfg(json!({"Env": ["A=2"], "Labels": {"y": "2"}}));
        merge(&mut user, &base);
        assert_eq!(user.env, ["A=2", "PATH=/bin"]);
        assert_eq!(user.cmd, Some(vec!["sh".to_string()]));
        assert_eq!(user.user, "u");
        assert_eq!(user.working_dir, "/w");
        assert_eq!(
            serde_json::to_value(&user.labels).expect("ser"),
            json!({"x": "1", "y": "2"})
        );
        let mut user = cfg(json!({"Entrypoint": ["e"]}));
        merge(&mut user, &base);
        assert_eq!(user.cmd, None);
    }

    #[test]
    fn references_join_repo_and_tag() {
        assert_eq!(reference("", "").expect("ok"), None);
        assert_eq!(
            reference("app", "").expect("ok").as_deref(),
            Some("app:latest")
        );
        assert_eq!(
            reference("app:1", "").expect("ok").as_deref(),
            Some("app:1")
        );
        assert_eq!(
            reference("localhost:5000/app", "v2")
                .expect("ok")
                .as_deref(),
            Some("localhost:5000/app:v2")
        );
        assert!(reference("Bad", "").is_err());
        assert!(reference("", "t").is_err());
    }
}
