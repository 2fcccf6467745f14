//! Container records in an embedded transactional store (redb): one table, id -> JSON.
//! Every write is its own committed transaction.
//!
//! After an I/O error (a full disk) redb refuses every later transaction ("Previous I/O
//! error occurred"), also once space is back: the database is then closed and opened
//! again at the next write, which finds the last committed state, as after a crash (the
//! daemon's records in memory are written again as they change).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use crate::containers::record::Container;
use crate::{Result, lock};

const CONTAINERS: TableDefinition<&str, &[u8]> = TableDefinition::new("containers");
/// Network records (`crate::networks::NetworkRecord`), id -> JSON.
const NETWORKS: TableDefinition<&str, &[u8]> = TableDefinition::new("networks");

pub struct Db {
    path: PathBuf,
    /// None after an I/O error, until it is opened again.
    db: Mutex<Option<Database>>,
}

fn open(path: &Path) -> std::result::Result<Database, redb::Error> {
    let db = Database::create(path)?;
    let txn = db.begin_write()?;
    txn.open_table(CONTAINERS)?;
    txn.open_table(NETWORKS)?;
    txn.commit()?;
    Ok(db)
}

impl Db {
    pub fn open(path: &Path) -> Result<Db> {
        Ok(Db {
            path: path.to_path_buf(),
            db: Mutex::new(Some(open(path)?)),
        })
    }

    /// Run `f` on the database, opening it again first if an I/O error closed it, and
    /// closing it if `f` fails with one.
    fn with<T>(
        &self,
        f: impl FnOnce(&Database) -> std::result::Result<T, redb::Error>,
    ) -> Result<T> {
        let mut slot = lock(&self.db);
        if slot.is_none() {
            *slot = Some(open(&self.path)?);
            tracing::info!("metadata store opened again after an I/O error");
        }
        let Some(db) = slot.as_ref() else {
            return Err(crate::Error::internal("metadata store is closed"));
        };
        let result = f(db);
        if let Err(redb::Error::Io(_) | redb::Error::PreviousIo) = &result {
            *slot = None;
        }
        Ok(result?)
    }

    /// Store `c`. With `durable` false the commit is not fsynced (for state a restarted
    /// daemon learns again from the shims: started, exited); the next durable commit
    /// persists it too.
    pub fn save(&self, c: &Container, durable: bool) -> Result<()> {
        let json = serde_json::to_vec(c)
            .map_err(|e| crate::Error::internal(format!("encoding container: {e}")))?;
        self.with(|db| {
            let mut txn = db.begin_write()?;
            if !durable {
                txn.set_durability(Durability::None)
                    .map_err(redb::Error::from)?;
            }
            txn.open_table(CONTAINERS)?
                .insert(c.id.as_str(), json.as_slice())?;
            txn.commit()?;
            Ok(())
        })
    }

    /// Forget `id`. Not fsynced: the container's directory is renamed away first, so a
    /// record that comes back after a crash finds it gone and the removal is finished
    /// then; the next durable commit persists this one.
    pub fn remove(&self, id: &str) -> Result<()> {
        self.with(|db| {
            let mut txn = db.begin_write()?;
            txn.set_durability(Durability::None)
                .map_err(redb::Error::from)?;
            txn.open_table(CONTAINERS)?.remove(id)?;
            txn.commit()?;
            Ok(())
        })
    }

    /// Store a network record, durably.
    pub fn save_network<T: serde::Serialize>(&self, id: &str, n: &T) -> Result<()> {
        let json = serde_json::to_vec(n)
            .map_err(|e| crate::Error::internal(format!("encoding network: {e}")))?;
        self.with(|db| {
            let txn = db.begin_write()?;
            txn.open_table(NETWORKS)?.insert(id, json.as_slice())?;
            txn.commit()?;
            Ok(())
        })
    }

    /// Forget a network, durably.
    pub fn remove_network(&self, id: &str) -> Result<()> {
        self.with(|db| {
            let txn = db.begin_write()?;
            txn.open_table(NETWORKS)?.remove(id)?;
            txn.commit()?;
            Ok(())
        })
    }

    /// Every network record; ones that do not parse are skipped with a warning.
    pub fn all_networks<T: serde::de::DeserializeOwned>(&self) -> Result<Vec<T>> {
        self.with(|db| {
            let txn = db.begin_read()?;
            let table = txn.open_table(NETWORKS)?;
            let mut out = Vec::new();
            for row in table.iter()? {
                let (k, v) = row?;
                match serde_json::from_slice::<T>(v.value()) {
                    Ok(n) => out.push(n),
                    Err(e) => {
                        tracing::warn!(id = k.value(), "skipping unreadable network record: {e}")
                    }
                }
            }
            Ok(out)
        })
    }

    /// Every record; ones that do not parse are skipped with a warning.
    pub fn all(&self) -> Result<Vec<Container>> {
        self.with(|db| {
            let txn = db.begin_read()?;
            let table = txn.open_table(CONTAINERS)?;
            let mut out = Vec::new();
            for row in table.iter()? {
                let (k, v) = row?;
                match serde_json::from_slice::<Container>(v.value()) {
                    Ok(c) => out.push(c),
                    Err(e) => {
                        tracing::warn!(id = k.value(), "skipping unreadable container record: {e}")
                    }
                }
            }
            Ok(out)
        })
    }
}
