//! Small file helpers shared by the daemon and the shim.

use std::io::Write;
use std::path::Path;

/// Write `data` to `path` through `<path>.tmp` and a rename, so readers see the old file or
/// the whole new one. With `sync`, the data is fsynced before the rename.
pub fn write_atomic(path: &Path, data: &[u8], sync: bool) -> crate::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = Path::new(&tmp);
    let ctx = || format!("writing {}", path.display());
    let mut f = std::fs::File::create(tmp).map_err(|e| crate::Error::io(ctx(), e))?;
    f.write_all(data).map_err(|e| crate::Error::io(ctx(), e))?;
    if sync {
        f.sync_all().map_err(|e| crate::Error::io(ctx(), e))?;
    }
    drop(f);
    std::fs::rename(tmp, path).map_err(|e| crate::Error::io(ctx(), e))
}
