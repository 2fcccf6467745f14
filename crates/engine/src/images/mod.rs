//! The image service: how the API shows an image (`view.rs`), list with filters, prune,
//! history and save (`list.rs`), removal (`remove.rs`), `system df` (`df.rs`), and new
//! images from containers and tars: commit, diff, export, import (`commit.rs`). Blobs,
//! layers and image records live in the store crate; this is what the API asks of them.
//! Here: load, inspect and tag, each one call of the store and its event.

pub mod commit;
mod df;
mod list;
mod remove;
mod view;

pub use list::glob_match;
pub use remove::Removal;
pub use view::{graph_data, inspect, summary};

use crate::{Engine, Error, Result, fault};

impl Engine {
    /// Load an image archive (blocking work on a blocking thread).
    pub async fn load_images(
        &self,
        mut input: Box<dyn std::io::Read + Send>,
    ) -> Result<Vec<berth_store::LoadedImage>> {
        let store = self.store.clone();
        let loaded = tokio::task::spawn_blocking(move || store.load(&mut input))
            .await
            .map_err(|e| Error::internal(e.to_string()))?
            .map_err(Error::from)?;
        fault::point("load.stored");
        for img in &loaded {
            let name = img.tags.first().unwrap_or(&img.id);
            self.image_event("load", &img.id, name);
        }
        Ok(loaded)
    }

    /// `GET /images/{name}/json`, in the newest API version's shape.
    pub fn image_inspect(&self, name: &str) -> Result<berth_models::ImageInspect> {
        let img = self.store.get(name)?;
        let mut v = inspect(&img);
        if let Ok(dirs) = self.store.layer_dirs(&img) {
            v.graph_driver.data = graph_data(&dirs);
        }
        v.parent = self.store.parent_of(&img.id)?.unwrap_or_default();
        Ok(v)
    }

    /// `POST /images/{name}/tag`: tag image `name` as `repo:tag`.
    pub fn image_tag(&self, name: &str, repo: &str, tag: &str) -> Result<()> {
        let img = self.store.get(name)?;
        let reference = format!("{repo}:{tag}");
        self.store.tag(&img.id, &reference)?;
        let familiar = berth_store::normalize(&reference).unwrap_or(reference);
        self.image_event("tag", &img.id, &familiar);
        Ok(())
    }
}
