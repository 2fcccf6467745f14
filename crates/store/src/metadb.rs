//! The store's metadata database (redb), opened again after an I/O error.
//!
//! redb latches an I/O error (a full disk during a commit): every later write transaction
//! fails with "Previous I/O error occurred", also once space is back, until the database
//! is closed and opened again. [`MetaDb`] does that at the next transaction, which finds
//! the last committed state (as after a crash).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use redb::{
    Database, DatabaseError, ReadTransaction, ReadableDatabase, StorageError, TransactionError,
    WriteTransaction,
};

pub(crate) struct MetaDb {
    path: PathBuf,
    /// None once closed after an I/O error, until it is opened again.
    db: RwLock<Option<Arc<Database>>>,
}

fn to_txn_error(e: DatabaseError) -> TransactionError {
    match e {
        DatabaseError::Storage(s) => TransactionError::Storage(s),
        other => {
            TransactionError::Storage(StorageError::Io(std::io::Error::other(other.to_string())))
        }
    }
}

impl MetaDb {
    pub(crate) fn open(path: &Path) -> Result<MetaDb, DatabaseError> {
        Ok(MetaDb {
            path: path.to_path_buf(),
            db: RwLock::new(Some(Arc::new(Database::create(path)?))),
        })
    }

    /// The open database, opened again if an I/O error closed it.
    fn current(&self) -> Result<Arc<Database>, TransactionError> {
        if let Some(db) = self.db.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            return Ok(db.clone());
        }
        let mut slot = self.db.write().unwrap_or_else(|p| p.into_inner());
        if let Some(db) = slot.as_ref() {
            return Ok(db.clone());
        }
        // Fails (and is tried again next time) while a transaction of the old one lives.
        let db = Arc::new(Database::create(&self.path).map_err(to_txn_error)?);
        *slot = Some(db.clone());
        Ok(db)
    }

    /// Close the database if it is `db` (a transaction of it saw the I/O error latched).
    fn close(&self, db: Arc<Database>) {
        let mut slot = self.db.write().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().is_some_and(|cur| Arc::ptr_eq(cur, &db)) {
            *slot = None;
        }
    }

    pub(crate) fn begin_write(&self) -> Result<WriteTransaction, TransactionError> {
        let db = self.current()?;
        match db.begin_write() {
            Err(TransactionError::Storage(StorageError::PreviousIo)) => {
                self.close(db);
                self.current()?.begin_write()
            }
            r => r,
        }
    }

    pub(crate) fn begin_read(&self) -> Result<ReadTransaction, TransactionError> {
        self.current()?.begin_read()
    }
}
