//! Image list with filters, prune, history and save.

use std::collections::HashSet;

use berth_models::{ImageHistoryResponseItem, ImagePruneResponse, ImageSummary};
use berth_store::Image;

use crate::filters::{Filters, check_keys, labels_match, parse_until};
use crate::{Engine, Error, Result, images, time};

use super::remove::push_removed_layers;

/// `Id` of the history entries of layers below the image's own.
pub(super) const MISSING: &str = "<missing>";

/// `dangling=true|false` (the last one wins, as in moby), `None` without the filter.
pub(super) fn dangling_filter(f: &Filters) -> Result<Option<bool>> {
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
    pub(super) fn class(p: &[char], c: char) -> Option<(bool, usize)> {
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
    pub(super) fn go(p: &[char], n: &[char]) -> bool {
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
pub(super) fn reference_matches(pattern: &str, tag: &str) -> bool {
    glob_match(pattern, tag)
        || tag
            .rsplit_once(':')
            .is_some_and(|(n, _)| glob_match(pattern, n))
}

pub(super) fn label_matches(img: &Image, wanted: &[String]) -> bool {
    let labels = img.config.config.labels.clone().unwrap_or_default();
    labels_match(|k| labels.get(k), wanted)
}

pub(super) fn created(img: &Image) -> i64 {
    img.config.created.as_deref().map_or(0, time::unix_seconds)
}

impl Engine {
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

    /// Resolve and open what `save` of `names` writes (errors come before any byte).
    pub async fn image_save(&self, names: Vec<String>) -> Result<berth_store::SaveSet> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.prepare_save(&names))
            .await
            .map_err(|e| Error::internal(e.to_string()))?
            .map_err(Error::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::parse_filters;

    #[test]
    pub(super) fn globs_match_like_go_path_match() {
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
    pub(super) fn dangling_takes_true_or_false() {
        let f = parse_filters(Some(r#"{"dangling":{"maybe":true}}"#)).unwrap();
        assert!(dangling_filter(&f).is_err());
    }
}
