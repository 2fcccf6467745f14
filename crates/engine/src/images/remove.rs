//! Image removal (`rmi`) as moby's `ImageDelete`: a tag is untagged (refused without force when it
//! is the image's only tag and a container uses the image); an image goes when its last
//! reference goes, unless a running container uses it (never, even with force) or a
//! stopped one does (only with force: the container keeps the image's layers). Records
//! change first; [`berth_store::Store::gc`] then removes the files nothing references.

use std::collections::{HashMap, HashSet};

use berth_models::ImageDeleteResponseItem as Item;
use berth_store::{Image, chain_ids, normalize};

use crate::{Engine, Error, Result, lock};

pub(super) fn short(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

/// What a delete or prune did.
#[derive(Debug, Default)]
pub struct Removal {
    /// `{"Untagged": ..}` / `{"Deleted": ..}` items, in Docker's order.
    pub items: Vec<Item>,
    pub bytes: u64,
}

pub(super) fn conflict(id: &str, hard: bool, running: bool, cid: &str) -> Error {
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
pub(super) fn push_removed_layers(img: &Image, removed: &[String], items: &mut Vec<Item>) {
    let chains = chain_ids(&img.diff_ids);
    for (d, c) in img.diff_ids.iter().zip(&chains).rev() {
        if removed.contains(d) {
            items.push(Item::deleted(c.as_str()));
        }
    }
}

impl Engine {
    /// Image ids used by containers, with whether some running container uses each and one
    /// container id using it (running first).
    pub(super) fn image_users(&self) -> HashMap<String, (bool, String)> {
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
    pub(super) fn remove_locked(
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
}
