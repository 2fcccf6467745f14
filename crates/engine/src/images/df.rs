//! `system df` and the sizes of containers' writable layers.

use std::collections::{HashMap, HashSet};

use berth_models::{ContainerInspect, ContainerSummary, DiskUsage};

use crate::{Engine, Error, Result, images, lock};

impl Engine {
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
            volumes: self.volume_usage().await?,
            // No builder yet, so no cache: empty, as `POST /build/prune` answers.
            build_cache: Some(Vec::new()),
            builder_size: None,
        })
    }

    /// `(SizeRw, SizeRootFs)` of containers given as `(id, image id)`: the bytes of the
    /// writable layer, and those plus the image's (as `size=1` asks).
    pub(super) async fn sizes(&self, containers: Vec<(String, String)>) -> Result<Vec<(i64, i64)>> {
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
        let rw: Vec<u64> = tokio::task::spawn_blocking(move || {
            uppers
                .iter()
                .map(|u| crate::containers::record::dir_size(u))
                .collect()
        })
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
}
