//! Checklist packs on the device: the bundled first-run set, installing a
//! pack version, and looking one up for a run.
//!
//! Versions are immutable once installed: a run refers to `(key, version)`
//! and must find exactly the steps it started with, whatever newer version
//! arrives later.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use doorstep_core::pack::{Pack, PackContext};
use include_dir::{Dir, include_dir};
use rusqlite::{Connection, OptionalExtension};

use crate::error::{Result, StoreError};
use crate::store::Store;

/// The packs shipped with the app (`assets/packs/*.toml`), installed on
/// first run so a tablet works before its first sync.
static BUNDLED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../assets/packs");

/// Reads the bundled packs. A broken bundled pack is a build defect; CI's
/// `doorstep pack check` keeps it from shipping, and this says which file.
pub fn bundled() -> Result<Vec<Pack>> {
    let mut packs = Vec::new();
    let mut files: Vec<_> = BUNDLED
        .files()
        .filter(|f| f.path().extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort_by_key(|f| f.path());
    for file in files {
        let name = file.path().display().to_string();
        let text = file
            .contents_utf8()
            .ok_or_else(|| StoreError::Pack(format!("{name} is not UTF-8")))?;
        let pack = Pack::from_toml(text).map_err(|e| StoreError::Pack(format!("{name}: {e}")))?;
        packs.push(pack);
    }
    Ok(packs)
}

/// Installed pack versions by (key, version); `None` remembers "not installed".
type PackMap = HashMap<(String, u32), Option<Arc<Pack>>>;

/// Parsed packs by (key, version), so a step write does not re-read JSON.
#[derive(Debug, Default)]
pub(crate) struct PackCache {
    packs: Mutex<PackMap>,
}

impl PackCache {
    fn map(&self) -> MutexGuard<'_, PackMap> {
        // The map is a cache: a panic elsewhere cannot leave it wrong.
        self.packs.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A pack version from the store, if installed.
    pub(crate) fn get(&self, conn: &Connection, key: &str, version: u32) -> Result<Option<Arc<Pack>>> {
        let cache_key = (key.to_owned(), version);
        if let Some(hit) = self.map().get(&cache_key) {
            return Ok(hit.clone());
        }
        let body: Option<String> = conn
            .prepare_cached("SELECT body FROM pack WHERE key = ?1 AND version = ?2")?
            .query_row((key, version), |r| r.get(0))
            .optional()?;
        let pack = match body {
            Some(json) => {
                Some(Arc::new(serde_json::from_str::<Pack>(&json).map_err(|e| {
                    StoreError::Stored(format!("pack {key} v{version}: {e}"))
                })?))
            }
            None => None,
        };
        self.map().insert(cache_key, pack.clone());
        Ok(pack)
    }

    fn forget(&self, key: &str, version: u32) {
        self.map().remove(&(key.to_owned(), version));
    }
}

/// One installed pack version, for listings.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InstalledPack {
    /// Pack key.
    pub key: String,
    /// Version.
    pub version: u32,
    /// Title in the requested locale.
    pub title: String,
    /// Number of steps.
    pub steps: usize,
    /// Who it is for, when not every resident ("trainee").
    pub audience: Option<String>,
}

impl Store {
    /// Installs a pack version. Installing the same version again is a
    /// no-op; a different pack under an installed (key, version) is refused,
    /// because runs in progress depend on that version's steps.
    pub fn install_pack(&mut self, pack: &Pack) -> Result<bool> {
        let problems = pack.validate(&PackContext::default());
        if let Some(first) = problems.first() {
            return Err(StoreError::Pack(format!(
                "{} v{}: {first} ({} problems)",
                pack.key,
                pack.version,
                problems.len()
            )));
        }
        let body = serde_json::to_string(pack).map_err(|e| StoreError::Stored(e.to_string()))?;
        let existing: Option<String> = self
            .conn
            .query_row(
                "SELECT body FROM pack WHERE key = ?1 AND version = ?2",
                (&pack.key, pack.version),
                |r| r.get(0),
            )
            .optional()?;
        if let Some(old) = existing {
            let old: Pack = serde_json::from_str(&old).map_err(|e| StoreError::Stored(e.to_string()))?;
            if old.steps_differ(pack) {
                return Err(StoreError::Pack(format!(
                    "{} version {} is already installed with different steps; a changed pack needs a new version",
                    pack.key, pack.version
                )));
            }
            return Ok(false);
        }
        let now = doorstep_core::schema::format_timestamp(self.now());
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO pack (key, version, body, installed_at) VALUES (?1, ?2, ?3, ?4)",
            (&pack.key, pack.version, body, now),
        )?;
        self.packs.forget(&pack.key, pack.version);
        // Runs that arrived before their pack version can now show progress.
        let runs: Vec<String> = tx
            .prepare("SELECT id FROM checklist_run WHERE pack_key = ?1 AND pack_version = ?2")?
            .query_map((&pack.key, pack.version), |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut dirty = crate::apply::Dirty::default();
        for run in runs {
            dirty.run(run);
        }
        dirty.flush(&tx, &self.packs)?;
        tx.commit()?;
        Ok(true)
    }

    /// The newest installed version of a pack.
    pub fn latest_pack(&self, key: &str) -> Result<Arc<Pack>> {
        let version: Option<u32> = self
            .conn
            .query_row("SELECT max(version) FROM pack WHERE key = ?1", [key], |r| r.get(0))?;
        let pack = match version {
            Some(v) => self.packs.get(&self.conn, key, v)?,
            None => None,
        };
        pack.ok_or_else(|| {
            let known = self
                .installed_packs("en")
                .map(|p| p.into_iter().map(|p| p.key).collect::<Vec<_>>())
                .unwrap_or_default();
            StoreError::UnknownName {
                what: "checklist pack",
                name: key.to_owned(),
                known,
            }
        })
    }

    /// A specific pack version.
    pub fn pack(&self, key: &str, version: u32) -> Result<Option<Arc<Pack>>> {
        self.packs.get(&self.conn, key, version)
    }

    /// The newest version of every installed pack.
    pub fn installed_packs(&self, locale: &str) -> Result<Vec<InstalledPack>> {
        let mut stmt = self
            .conn
            .prepare("SELECT key, max(version) FROM pack GROUP BY key ORDER BY key")?;
        let keys: Vec<(String, u32)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::new();
        for (key, version) in keys {
            if let Some(p) = self.packs.get(&self.conn, &key, version)? {
                out.push(InstalledPack {
                    title: Pack::text(&p.title, locale).to_owned(),
                    steps: p.steps.len(),
                    audience: p.audience.clone(),
                    key,
                    version,
                });
            }
        }
        Ok(out)
    }
}
