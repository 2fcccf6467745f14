//! Image operations that involve containers or several images: remove (`rmi`), prune,
//! list with filters, history, `system df`, save.
//!
//! Removal follows moby's `ImageDelete`: a tag is untagged (refused without force when it
//! is the image's only tag and a container uses the image); an image goes when its last
//! reference goes, unless a running container uses it (never, even with force) or a
//! stopped one does (only with force: the container keeps the image's layers). Records
//! change first; [`berth_store::Store::gc`] then removes the files nothing references.

use std::collections::{BTreeMap, HashMap, HashSet};

use berth_models::{
    ContainerInspect, ContainerSummary, DiskUsage, ImageDeleteResponseItem as Item,
    ImageHistoryResponseItem, ImagePruneResponse, ImageSummary,
};
use berth_store::{Image, chain_ids, normalize};
use serde_json::Value;

use crate::{Engine, Error, Result, images, lock, time};

/// Parsed `filters=` of the API: `{"k":{"v":true}}` (what the docker CLI sends) or
/// `{"k":["v"]}`.
pub type Filters = BTreeMap<String, Vec<String>>;

/// Parse the `filters` query parameter.
pub fn parse_filters(raw: Option<&str>) -> Result<Filters> {
    let mut out = Filters::new();
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(out);
    };
    let v: Value =
        serde_json::from_str(raw).map_err(|e| Error::invalid(format!("invalid filter: {e}")))?;
    let Value::Object(map) = v else {
        return Err(Error::invalid("invalid filter: not a JSON object"));
    };
    for (k, vals) in map {
        let list: Vec<String> = match vals {
            Value::Object(m) => m
                .into_iter()
                .filter(|(_, b)| b.as_bool().unwrap_or(true))
                .map(|(v, _)| v)
                .collect(),
            Value::Array(a) => a
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                })
                .collect(),
            Value::String(s) => vec![s],
            _ => return Err(Error::invalid(format!("invalid filter '{k}'"))),
        };
        out.entry(k).or_default().extend(list);
    }
    Ok(out)
}

fn check_keys(f: &Filters, allowed: &[&str]) -> Result<()> {
    match f.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(Error::invalid(format!("invalid filter '{k}'"))),
        None => Ok(()),
    }
}

/// `dangling=true|false` (the last one wins, as in moby), `None` without the filter.
fn dangling_filter(f: &Filters) -> Result<Option<bool>> {
    let Some(vals) = f.get("dangling") else {
        return Ok(None);
    };
    let mut out = None;
    for v in vals {
        out = Some(match v.to_ascii_lowercase().as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(Error::invalid(format!("invalid filter 'dangling={v}'"))),
        });
    }
    Ok(out)
}

/// Go's `path.Match`: `*` (not across `/`), `?`, `[...]` classes with ranges and `^`,
/// `\` escapes.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    fn class(p: &[char], c: char) -> Option<(bool, usize)> {
        // p starts after '['; returns (matched, chars consumed incl. ']').
        let mut i = 0;
        let negate = p.first() == Some(&'^');
        if negate {
            i += 1;
        }
        let mut matched = false;
        let mut first = true;
        while i < p.len() {
            if p[i] == ']' && !first {
                return Some((matched != negate, i + 1));
            }
            first = false;
            let mut lo = p[i];
            if lo == '\\' {
                i += 1;
                lo = *p.get(i)?;
            }
            let mut hi = lo;
            if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|c| *c != ']') {
                hi = p[i + 2];
                if hi == '\\' {
                    hi = *p.get(i + 3)?;
                    i += 1;
                }
                i += 2;
            }
            if lo <= c && c <= hi {
                matched = true;
            }
            i += 1;
        }
        None
    }
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len())
                .take_while(|&k| k == 0 || n[k - 1] != '/')
                .any(|k| go(&p[1..], &n[k..])),
            Some('?') => n.first().is_some_and(|c| *c != '/') && go(&p[1..], &n[1..]),
            Some('[') => match n.first() {
                Some(&c) if c != '/' => match class(&p[1..], c) {
                    Some((true, used)) => go(&p[1 + used..], &n[1..]),
                    _ => false,
                },
                _ => false,
            },
            Some('\\') if p.len() > 1 => n.first() == Some(&p[1]) && go(&p[2..], &n[1..]),
            Some(c) => n.first() == Some(c) && go(&p[1..], &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

/// moby's `reference.FamiliarMatch`: the pattern against `name:tag`, then against `name`.
fn reference_matches(pattern: &str, tag: &str) -> bool {
    glob_match(pattern, tag)
        || tag
            .rsplit_once(':')
            .is_some_and(|(n, _)| glob_match(pattern, n))
}

fn label_matches(img: &Image, wanted: &[String]) -> bool {
    let labels = img.config.config.labels.clone().unwrap_or_default();
    labels_match(|k| labels.get(k), wanted)
}

/// Docker's `label` filter: every `key` or `key=value` of `wanted` is among the labels
/// (`label(key)` looks one up).
pub(crate) fn labels_match<'a>(
    label: impl Fn(&str) -> Option<&'a String>,
    wanted: &[String],
) -> bool {
    wanted.iter().all(|w| match w.split_once('=') {
        Some((k, v)) => label(k).is_some_and(|x| x == v),
        None => label(w).is_some(),
    })
}

fn created(img: &Image) -> i64 {
    img.config.created.as_deref().map_or(0, time::unix_seconds)
}

/// `Id` of the history entries of layers below the image's own.
const MISSING: &str = "<missing>";

fn short(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

/// What a delete or prune did.
#[derive(Debug, Default)]
pub struct Removal {
    /// `{"Untagged": ..}` / `{"Deleted": ..}` items, in Docker's order.
    pub items: Vec<Item>,
    pub bytes: u64,
}

impl Engine {
    /// Image ids used by containers, with whether some running container uses each and one
    /// container id using it (running first).
    fn image_users(&self) -> HashMap<String, (bool, String)> {
        let mut out: HashMap<String, (bool, String)> = HashMap::new();
        for e in lock(&self.containers).values() {
            let r = e.record();
            let running = r.state.running;
            let slot = out
                .entry(r.image_id.clone())
                .or_insert((running, r.id.clone()));
            if running && !slot.0 {
                *slot = (true, r.id.clone());
            }
        }
        out
    }

    /// `DELETE /images/{name}?force=&noprune=`. Unless `noprune`, a deleted image's
    /// untagged parents that nothing else uses go too, as in Docker.
    pub async fn image_remove(&self, name: &str, force: bool, noprune: bool) -> Result<Vec<Item>> {
        let _gate = self.image_gate.write().await;
        let store = self.store.clone();
        let mut removal = Removal::default();
        let target = self.store.get(name)?.id;
        let mut parent = self.store.parent_of(&target)?;
        let mut deleted = Vec::new();
        if let Some(img) = self.remove_locked(name, force, &mut removal.items)? {
            deleted.push(img);
            while let Some(pid) = parent.take().filter(|_| !noprune) {
                let p = self.store.get(&pid)?;
                if !p.repo_tags.is_empty()
                    || self.store.has_children(&pid)?
                    || self.image_users().contains_key(&pid)
                {
                    break;
                }
                parent = self.store.parent_of(&pid)?;
                match self.remove_locked(&pid, false, &mut removal.items)? {
                    Some(img) => deleted.push(img),
                    None => break,
                }
            }
        }
        if !deleted.is_empty() {
            let used: HashSet<String> = self.image_users().into_keys().collect();
            let report = tokio::task::spawn_blocking(move || store.gc(&used))
                .await
                .map_err(|e| Error::internal(e.to_string()))??;
            for img in &deleted {
                push_removed_layers(img, &report.layers, &mut removal.items);
            }
        }
        for item in &removal.items {
            if let Some(tag) = item.untagged.as_deref() {
                self.image_event("untag", &target, tag);
            }
        }
        for img in &deleted {
            self.image_event("delete", &img.id, &img.id);
        }
        Ok(removal.items)
    }

    /// The metadata part of a removal; the image if it was deleted.
    fn remove_locked(
        &self,
        name: &str,
        force: bool,
        items: &mut Vec<Item>,
    ) -> Result<Option<Image>> {
        let img = self.store.get(name)?;
        let users = self.image_users();
        let user = users.get(&img.id);
        let tag_ref = normalize(name).ok().filter(|t| img.repo_tags.contains(t));
        let quiet;
        if let Some(tag) = tag_ref {
            if !force
                && img.repo_tags.len() == 1
                && let Some((_, cid)) = user
            {
                return Err(Error::conflict(format!(
                    "conflict: unable to remove repository reference \"{name}\" (must force) - container {} is using its referenced image {}",
                    short(cid),
                    short(&img.id)
                )));
            }
            self.store.untag(&tag)?;
            items.push(Item::untagged(tag.as_str()));
            if img.repo_tags.len() > 1 {
                return Ok(None);
            }
            quiet = true;
        } else {
            if img.repo_tags.len() == 1 {
                // An id given, one tag: the tag goes too, unless a container objects.
                if let Some((running, cid)) = user
                    && (*running || !force)
                {
                    return Err(conflict(&img.id, *running, *running, cid));
                }
                for t in &img.repo_tags {
                    self.store.untag(t)?;
                    items.push(Item::untagged(t.as_str()));
                }
            }
            quiet = false;
        }
        let remaining: Vec<String> = self.store.get(&img.id)?.repo_tags;
        let children = self.store.has_children(&img.id)?;
        // Conflicts: child images, running container (hard); other tags, stopped
        // container (soft).
        let conflict_err = match user {
            _ if children => Some((true, false, "image has dependent child images".to_string())),
            Some((true, cid)) => Some((
                true,
                true,
                format!("image is being used by running container {}", short(cid)),
            )),
            _ if !force && !remaining.is_empty() => Some((
                false,
                false,
                "image is referenced in multiple repositories".to_string(),
            )),
            Some((false, cid)) if !force => Some((
                false,
                true,
                format!("image is being used by stopped container {}", short(cid)),
            )),
            _ => None,
        };
        if let Some((hard, used, msg)) = conflict_err {
            let dangling = remaining.is_empty() && !children;
            if quiet && (!dangling || used) {
                return Ok(None);
            }
            let how = if hard {
                "cannot be forced"
            } else {
                "must be forced"
            };
            return Err(Error::conflict(format!(
                "conflict: unable to delete {} ({how}) - {msg}",
                short(&img.id)
            )));
        }
        let deleted = self.store.delete(&img.id, user.is_some())?;
        for t in deleted.untagged {
            items.push(Item::untagged(t));
        }
        items.push(Item::deleted(img.id.as_str()));
        Ok(Some(img))
    }

    /// `POST /images/prune`: dangling images not used by containers, or with
    /// `dangling=false` (`-a`) all of them; `label`, `label!` and `until` filters.
    pub async fn image_prune(&self, filters: &Filters) -> Result<ImagePruneResponse> {
        check_keys(filters, &["dangling", "label", "label!", "until"])?;
        let all = dangling_filter(filters)? == Some(false);
        let until = match filters.get("until").and_then(|v| v.last()) {
            Some(u) => Some(parse_until(u)?),
            None => None,
        };
        let _gate = self.image_gate.write().await;
        let users = self.image_users();
        let mut items = Vec::new();
        let mut deleted = Vec::new();
        for img in self.store.list()? {
            if users.contains_key(&img.id) || (!all && !img.repo_tags.is_empty()) {
                continue;
            }
            if let Some(l) = filters.get("label")
                && !label_matches(&img, l)
            {
                continue;
            }
            if let Some(l) = filters.get("label!")
                && l.iter()
                    .any(|w| label_matches(&img, std::slice::from_ref(w)))
            {
                continue;
            }
            if until.is_some_and(|u| created(&img) >= u) {
                continue;
            }
            let mut its = Vec::new();
            let r = if img.repo_tags.is_empty() {
                self.remove_locked(&img.id, false, &mut its)
            } else {
                // Every tag, then the image: as `docker rmi` of each tag.
                let mut r = Ok(None);
                for t in &img.repo_tags {
                    r = self.remove_locked(t, false, &mut its);
                    if r.is_err() {
                        break;
                    }
                }
                r
            };
            match r {
                Ok(Some(i)) => deleted.push(i),
                Ok(None) => {}
                Err(e) => tracing::debug!("prune {}: {e}", img.id),
            }
            items.extend(its);
        }
        let used: HashSet<String> = users.into_keys().collect();
        let store = self.store.clone();
        let report = tokio::task::spawn_blocking(move || store.gc(&used))
            .await
            .map_err(|e| Error::internal(e.to_string()))??;
        for img in &deleted {
            push_removed_layers(img, &report.layers, &mut items);
        }
        self.prune_event("image", report.bytes);
        Ok(ImagePruneResponse {
            images_deleted: Some(items).filter(|i| !i.is_empty()),
            space_reclaimed: report.bytes,
        })
    }

    /// `GET /images/json` with `all`, `filters` (dangling, label, before, since,
    /// reference, until), `digests`.
    /// Untagged images that others were committed on are intermediate: listed with `all`
    /// only, and never dangling.
    pub fn image_list_filtered(&self, filters: &Filters, all: bool) -> Result<Vec<ImageSummary>> {
        check_keys(
            filters,
            &["dangling", "label", "before", "since", "reference", "until"],
        )?;
        let dangling = dangling_filter(filters)?;
        let mut before = None;
        let mut since = None;
        for (key, slot) in [("before", &mut before), ("since", &mut since)] {
            if let Some(v) = filters.get(key).and_then(|v| v.last()) {
                *slot = Some(created(&self.store.get(v)?));
            }
        }
        let until = match filters.get("until").and_then(|v| v.last()) {
            Some(u) => Some(parse_until(u)?),
            None => None,
        };
        let parents = self.store.parent_links()?;
        let with_children: HashSet<&String> = parents.values().collect();
        let mut imgs = self.store.list()?;
        imgs.sort_by(|a, b| b.config.created.cmp(&a.config.created));
        let mut out = Vec::new();
        for mut img in imgs {
            let c = created(&img);
            if before.is_some_and(|b| c >= b)
                || since.is_some_and(|s| c <= s)
                || until.is_some_and(|u| c >= u)
            {
                continue;
            }
            if let Some(l) = filters.get("label")
                && !label_matches(&img, l)
            {
                continue;
            }
            if let Some(pats) = filters.get("reference") {
                img.repo_tags
                    .retain(|t| pats.iter().any(|p| reference_matches(p, t)));
                img.repo_digests.retain(|t| {
                    pats.iter()
                        .any(|p| reference_matches(p, t.split('@').next().unwrap_or("")))
                });
                if img.repo_tags.is_empty() && img.repo_digests.is_empty() {
                    continue;
                }
            }
            let untagged = img.repo_tags.is_empty() && img.repo_digests.is_empty();
            let intermediate = untagged && with_children.contains(&img.id);
            if intermediate && !all {
                continue;
            }
            let is_dangling = untagged && !intermediate;
            match dangling {
                Some(true) if !is_dangling => continue,
                Some(false) if is_dangling => continue,
                _ => {}
            }
            let mut v = images::summary(&img);
            v.parent_id = parents.get(&img.id).cloned().unwrap_or_default();
            out.push(v);
        }
        Ok(out)
    }

    /// `GET /images/{name}/history`, newest first.
    pub fn image_history(&self, name: &str) -> Result<Vec<ImageHistoryResponseItem>> {
        let img = self.store.get(name)?;
        let sizes = self.store.layer_sizes()?;
        let mut layer = 0usize;
        let mut out = Vec::new();
        for h in &img.config.history {
            let mut size = 0;
            if !h.empty_layer().unwrap_or(false) {
                if let Some(d) = img.diff_ids.get(layer) {
                    size = sizes.get(d).copied().unwrap_or(0);
                }
                layer += 1;
            }
            out.push(ImageHistoryResponseItem {
                comment: h.comment().clone().unwrap_or_default(),
                created: h.created().as_deref().map_or(0, time::unix_seconds),
                created_by: h.created_by().clone().unwrap_or_default(),
                id: MISSING.into(),
                size: size as i64,
                tags: None,
            });
        }
        if out.is_empty() {
            // No history recorded: one line per layer, as the image has them.
            for d in &img.diff_ids {
                out.push(ImageHistoryResponseItem {
                    created: created(&img),
                    id: MISSING.into(),
                    size: sizes.get(d).copied().unwrap_or(0) as i64,
                    ..Default::default()
                });
            }
        }
        out.reverse();
        if let Some(top) = out.first_mut() {
            top.id = img.id.clone();
            top.tags = Some(img.repo_tags.clone()).filter(|t| !t.is_empty());
        }
        Ok(out)
    }

    /// `GET /system/df`.
    pub async fn system_df(&self) -> Result<DiskUsage> {
        let imgs = self.store.list()?;
        let sizes = self.store.layer_sizes()?;
        let mut users: HashMap<String, i64> = HashMap::new();
        let containers: Vec<ContainerSummary> = {
            let map = lock(&self.containers);
            map.values()
                .map(|e| {
                    let r = e.record();
                    *users.entry(r.image_id.clone()).or_default() += 1;
                    r.summary()
                })
                .collect()
        };
        // How many images use each layer.
        let mut uses: HashMap<&str, u32> = HashMap::new();
        for img in &imgs {
            let uniq: HashSet<&str> = img.diff_ids.iter().map(String::as_str).collect();
            for d in uniq {
                *uses.entry(d).or_default() += 1;
            }
        }
        let mut layers_size = 0u64;
        let mut seen = HashSet::new();
        let mut image_rows = Vec::new();
        for img in &imgs {
            let mut shared = 0u64;
            let mut uniq = HashSet::new();
            for d in &img.diff_ids {
                if !uniq.insert(d.as_str()) {
                    continue;
                }
                let s = sizes.get(d).copied().unwrap_or(0);
                if uses.get(d.as_str()).copied().unwrap_or(0) > 1 {
                    shared += s;
                }
                if seen.insert(d.clone()) {
                    layers_size += s;
                }
            }
            let mut row = images::summary(img);
            row.shared_size = shared as i64;
            row.containers = users.get(&img.id).copied().unwrap_or(0);
            image_rows.push(row);
        }
        let rows = self.with_sizes(containers).await?;
        Ok(DiskUsage {
            layers_size: layers_size as i64,
            images: image_rows,
            containers: rows,
            volumes: Vec::new(),
            // No builder yet, so no cache: empty, as `POST /build/prune` answers.
            build_cache: Some(Vec::new()),
            builder_size: None,
        })
    }

    /// `(SizeRw, SizeRootFs)` of containers given as `(id, image id)`: the bytes of the
    /// writable layer, and those plus the image's (as `size=1` asks).
    async fn sizes(&self, containers: Vec<(String, String)>) -> Result<Vec<(i64, i64)>> {
        let image_sizes: HashMap<String, u64> = self
            .store
            .list()?
            .into_iter()
            .map(|i| (i.id, i.size))
            .collect();
        let uppers: Vec<std::path::PathBuf> = containers
            .iter()
            .map(|(id, _)| self.paths(id).upper())
            .collect();
        let rw: Vec<u64> =
            tokio::task::spawn_blocking(move || uppers.iter().map(|u| dir_size(u)).collect())
                .await
                .map_err(|e| Error::internal(e.to_string()))?;
        Ok(containers
            .iter()
            .zip(rw)
            .map(|((_, image), rw)| {
                let img = image_sizes.get(image).copied().unwrap_or(0);
                (rw as i64, (rw + img) as i64)
            })
            .collect())
    }

    /// List rows with `SizeRw` and `SizeRootFs`.
    pub async fn with_sizes(
        &self,
        mut rows: Vec<ContainerSummary>,
    ) -> Result<Vec<ContainerSummary>> {
        let keys = rows
            .iter()
            .map(|r| (r.id.clone(), r.image_id.clone()))
            .collect();
        for (r, (rw, root)) in rows.iter_mut().zip(self.sizes(keys).await?) {
            r.size_rw = Some(rw);
            r.size_root_fs = Some(root);
        }
        Ok(rows)
    }

    /// An inspect with `SizeRw` and `SizeRootFs`.
    pub async fn inspect_with_size(&self, mut c: ContainerInspect) -> Result<ContainerInspect> {
        let keys = vec![(c.id.clone(), c.image.clone())];
        if let Some((rw, root)) = self.sizes(keys).await?.pop() {
            c.size_rw = Some(rw);
            c.size_root_fs = Some(root);
        }
        Ok(c)
    }

    /// A container using `image_id` is gone: if the image was removed while it was in
    /// use and nothing else uses it, collect its layers now.
    pub(crate) async fn release_image(&self, image_id: &str) {
        if !self.store.is_retained(image_id).unwrap_or(false) {
            return;
        }
        let _gate = self.image_gate.write().await;
        let used: HashSet<String> = self.image_users().into_keys().collect();
        if used.contains(image_id) {
            return;
        }
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || store.gc(&used)).await {
            Ok(Ok(r)) => tracing::debug!("collected {} layers, {} bytes", r.layers.len(), r.bytes),
            Ok(Err(e)) => tracing::warn!("collecting image {image_id}: {e}"),
            Err(e) => tracing::warn!("collecting image {image_id}: {e}"),
        }
    }

    /// Resolve and open what `save` of `names` writes (errors come before any byte).
    pub async fn image_save(&self, names: Vec<String>) -> Result<berth_store::SaveSet> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.prepare_save(&names))
            .await
            .map_err(|e| Error::internal(e.to_string()))?
            .map_err(Error::from)
    }
}

fn conflict(id: &str, hard: bool, running: bool, cid: &str) -> Error {
    let how = if hard {
        "cannot be forced"
    } else {
        "must be forced"
    };
    let what = if running { "running" } else { "stopped" };
    Error::conflict(format!(
        "conflict: unable to delete {} ({how}) - image is being used by {what} container {}",
        short(id),
        short(cid)
    ))
}

/// `Deleted: <chain id>` for each layer of `img` the collection removed, top first.
fn push_removed_layers(img: &Image, removed: &[String], items: &mut Vec<Item>) {
    let chains = chain_ids(&img.diff_ids);
    for (d, c) in img.diff_ids.iter().zip(&chains).rev() {
        if removed.contains(d) {
            items.push(Item::deleted(c.as_str()));
        }
    }
}

/// `until=`: a Unix timestamp, an RFC 3339 time, or a duration before now (`10m`, `2h`).
pub(crate) fn parse_until(v: &str) -> Result<i64> {
    if let Ok(n) = v.split('.').next().unwrap_or(v).parse::<i64>() {
        return Ok(n);
    }
    if let Some(t) = time::parse(v) {
        return Ok(t
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64));
    }
    if let Ok(d) = humantime::parse_duration(v) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        return Ok(now - d.as_secs() as i64);
    }
    Err(Error::invalid(format!("invalid filter 'until={v}'")))
}

/// Bytes of the regular files under `dir` (not following links), 0 if absent.
pub(crate) fn dir_size(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(md) = e.metadata() else { continue };
            if md.is_dir() {
                stack.push(e.path());
            } else if md.is_file() {
                total += md.len();
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_go_path_match() {
        assert!(glob_match("busy*", "busybox"));
        assert!(glob_match("busybox:*", "busybox:latest"));
        assert!(!glob_match("*", "me/app"));
        assert!(glob_match("*/*", "me/app"));
        assert!(glob_match("b?sybox", "busybox"));
        assert!(glob_match("[a-c]usybox", "busybox"));
        assert!(!glob_match("[^b]usybox", "busybox"));
        assert!(!glob_match("busy", "busybox"));
        assert!(reference_matches("busybox", "busybox:latest"));
        assert!(!reference_matches("busybox:1", "busybox:latest"));
    }

    #[test]
    fn filters_parse_both_forms() {
        let f = parse_filters(Some(r#"{"dangling":{"true":true},"label":["a=b"]}"#)).unwrap();
        assert_eq!(f["dangling"], ["true"]);
        assert_eq!(f["label"], ["a=b"]);
        assert!(parse_filters(Some("nope")).is_err());
        assert!(parse_filters(None).unwrap().is_empty());
        let f = parse_filters(Some(r#"{"dangling":{"maybe":true}}"#)).unwrap();
        assert!(dangling_filter(&f).is_err());
    }
}
