//! The image service: how the API shows an image (`view.rs`), list with filters, prune,
//! history and save (`list.rs`), removal (`remove.rs`), `system df` (`df.rs`), and new
//! images from containers and tars: commit, diff, export, import (`commit.rs`). Blobs,
//! layers and image records live in the store crate; this is what the API asks of them.

pub mod commit;
mod df;
mod list;
mod remove;
mod view;

pub use list::glob_match;
pub use remove::Removal;
pub use view::{graph_data, inspect, summary};
