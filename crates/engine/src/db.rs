//! Container records in an embedded transactional store (redb): one table, id -> JSON.
//! Every write is its own committed (durable) transaction.

use std::path::Path;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use crate::Result;
use crate::container::Container;

const CONTAINERS: TableDefinition<&str, &[u8]> = TableDefinition::new("containers");

pub struct Db {
    db: Database,
}

impl Db {
    pub fn open(path: &Path) -> Result<Db> {
        let db = Database::create(path)?;
        let txn = db.begin_write()?;
        txn.open_table(CONTAINERS)?;
        txn.commit()?;
        Ok(Db { db })
    }

    /// Store `c`. With `durable` false the commit is not fsynced (for state a restarted
    /// daemon learns again from the shims: started, exited); the next durable commit
    /// persists it too.
    pub fn save(&self, c: &Container, durable: bool) -> Result<()> {
        let json = serde_json::to_vec(c)
            .map_err(|e| crate::Error::internal(format!("encoding container: {e}")))?;
        let mut txn = self.db.begin_write()?;
        if !durable {
            txn.set_durability(Durability::None)
                .map_err(|e| crate::Error::internal(format!("metadata store: {e}")))?;
        }
        txn.open_table(CONTAINERS)?
            .insert(c.id.as_str(), json.as_slice())?;
        txn.commit()?;
        Ok(())
    }

    /// Forget `id`. Not fsynced: the container's directory is renamed away first, so a
    /// record that comes back after a crash finds it gone and the removal is finished
    /// then; the next durable commit persists this one.
    pub fn remove(&self, id: &str) -> Result<()> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::None)
            .map_err(|e| crate::Error::internal(format!("metadata store: {e}")))?;
        txn.open_table(CONTAINERS)?.remove(id)?;
        txn.commit()?;
        Ok(())
    }

    /// Every record; ones that do not parse are skipped with a warning.
    pub fn all(&self) -> Result<Vec<Container>> {
        let txn = self.db.begin_read()?;
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
    }
}
