//! The checklist packs this server hands out.
//!
//! Packs come from the binary (`assets/packs`, built in) or from a
//! directory given to `serve --packs`, so a ministry's correction reaches
//! tablets without a new server build. Every version ever handed out is
//! kept by the store and served with the current ones: a run in progress
//! on some tablet may still use it. A version is immutable - a file that
//! changes the steps of a version already handed out is refused.

use std::path::Path;

use doorstep_core::pack::{Pack, PackContext};
use doorstep_core::protocol::PackFile;
use include_dir::{Dir, include_dir};

static BUNDLED: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../assets/packs");

/// The packs built into this binary. CI's `doorstep pack check` keeps them
/// valid; one that still fails here is named and left out.
pub fn bundled() -> Vec<PackFile> {
    let mut files = Vec::new();
    for file in BUNDLED
        .files()
        .filter(|f| f.path().extension().is_some_and(|e| e == "toml"))
    {
        let name = file.path().display().to_string();
        match file
            .contents_utf8()
            .ok_or_else(|| "not UTF-8".to_owned())
            .and_then(read)
        {
            Ok(pack) => files.push(pack),
            Err(e) => tracing::error!(file = %name, error = %e, "bundled pack left out"),
        }
    }
    sorted(files)
}

/// The built-in packs, parsed once for the life of the process (pages and
/// campaign defaults read their titles and keys).
pub fn bundled_packs() -> &'static [Pack] {
    static PACKS: std::sync::OnceLock<Vec<Pack>> = std::sync::OnceLock::new();
    PACKS.get_or_init(|| bundled().iter().filter_map(|f| Pack::from_toml(&f.toml).ok()).collect())
}

/// The keys of the built-in packs for residents (not the trainees' ones):
/// what a campaign uses unless told otherwise.
pub fn resident_keys() -> Vec<String> {
    let mut keys: Vec<String> = bundled_packs()
        .iter()
        .filter(|p| p.audience.is_none())
        .map(|p| p.key.clone())
        .collect();
    keys.dedup();
    keys
}

/// The packs in a directory (`*.toml`), each parsed and validated. Every
/// problem is returned, with its file, so the operator fixes them at once.
pub fn from_dir(dir: &Path) -> Result<Vec<PackFile>, Vec<String>> {
    let entries = std::fs::read_dir(dir).map_err(|e| vec![format!("{}: cannot read: {e}", dir.display())])?;
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(vec![format!("{}: no .toml pack files", dir.display())]);
    }
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| e.to_string());
        match text.and_then(|t| read(&t)) {
            Ok(pack) => files.push((pack, path)),
            Err(e) => problems.push(format!("{}: {e}", path.display())),
        }
    }
    let mut seen = std::collections::BTreeMap::new();
    for (f, path) in &files {
        if let Some(first) = seen.insert((&f.key, f.version), path) {
            problems.push(format!(
                "{} v{} is in two files: {} and {}",
                f.key,
                f.version,
                first.display(),
                path.display()
            ));
        }
    }
    let files = files.into_iter().map(|(f, _)| f).collect();
    if problems.is_empty() {
        Ok(sorted(files))
    } else {
        Err(problems)
    }
}

/// One pack file's text, parsed and validated.
fn read(text: &str) -> Result<PackFile, String> {
    let pack = Pack::from_toml(text).map_err(|e| e.to_string())?;
    let problems = pack.validate(&PackContext::default());
    if let Some(first) = problems.first() {
        return Err(format!(
            "{first} ({} problems; run doorstep pack check)",
            problems.len()
        ));
    }
    Ok(PackFile {
        key: pack.key,
        version: pack.version,
        toml: text.to_owned(),
    })
}

fn sorted(mut files: Vec<PackFile>) -> Vec<PackFile> {
    files.sort_by(|a, b| (&a.key, a.version).cmp(&(&b.key, b.version)));
    files
}

/// Whether `new` changes the steps of the `stored` text of the same
/// version. Text outside the steps (a title, a source) may change.
pub fn steps_changed(stored: &str, new: &PackFile) -> bool {
    if stored == new.toml {
        return false;
    }
    match (Pack::from_toml(stored), Pack::from_toml(&new.toml)) {
        (Ok(old), Ok(fresh)) => old.steps_differ(&fresh),
        _ => true,
    }
}

/// Why a pack file was refused: it changes a version already handed out;
/// `highest` is the highest version of that pack handed out so far.
pub fn refusal(new: &PackFile, highest: u32) -> String {
    format!(
        "checklist pack {} version {} changes the steps of the version this server already handed out; \
         tablets may have runs on it, so give the changed pack version {}",
        new.key,
        new.version,
        highest.max(new.version) + 1
    )
}

/// How one offered pack version is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record<'a> {
    /// A version never handed out: recorded, first served now.
    New(&'a PackFile),
    /// A version handed out before, with the same steps and newer wording
    /// outside them: the new text is served from now on.
    Reworded(&'a PackFile),
}

/// Decides how `offered` versions are recorded against `stored`, every
/// version the store holds (each store runs this, then only its inserts
/// and updates). A version whose steps changed is refused; every refusal
/// is named, joined by "; ", and then nothing at all is recorded.
pub fn record<'a>(stored: &[PackFile], offered: &'a [PackFile]) -> Result<Vec<Record<'a>>, String> {
    let mut records = Vec::new();
    let mut refused = Vec::new();
    for pack in offered {
        let same_key = || stored.iter().filter(|s| s.key == pack.key);
        match same_key().find(|s| s.version == pack.version) {
            None => records.push(Record::New(pack)),
            Some(old) if steps_changed(&old.toml, pack) => {
                // The highest version handed out, counting those this
                // batch records before it.
                let recorded = records.iter().filter_map(|r| match r {
                    Record::New(p) if p.key == pack.key => Some(p.version),
                    _ => None,
                });
                let highest = same_key()
                    .map(|s| s.version)
                    .chain(recorded)
                    .max()
                    .unwrap_or(pack.version);
                refused.push(refusal(pack, highest));
            }
            Some(old) if old.toml != pack.toml => records.push(Record::Reworded(pack)),
            Some(_) => {}
        }
    }
    if refused.is_empty() {
        Ok(records)
    } else {
        Err(refused.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_sorts_new_reworded_unchanged_and_refused() {
        let vneid = bundled()
            .into_iter()
            .find(|f| f.key == "vneid")
            .expect("vneid is built in");
        let retitled = PackFile {
            toml: format!("{}\n# a note outside the steps\n", vneid.toml),
            ..vneid.clone()
        };
        let next = PackFile {
            version: vneid.version + 1,
            ..vneid.clone()
        };
        let stored = vec![vneid.clone()];
        assert_eq!(record(&[], std::slice::from_ref(&vneid)), Ok(vec![Record::New(&vneid)]));
        assert_eq!(
            record(&stored, std::slice::from_ref(&vneid)),
            Ok(vec![]),
            "the same text records nothing"
        );
        assert_eq!(
            record(&stored, std::slice::from_ref(&retitled)),
            Ok(vec![Record::Reworded(&retitled)])
        );
        assert_eq!(
            record(&stored, std::slice::from_ref(&next)),
            Ok(vec![Record::New(&next)])
        );
        let first = Pack::from_toml(&vneid.toml).expect("parses").steps[0]
            .instruction
            .get("vi")
            .expect("vi")
            .clone();
        let changed = PackFile {
            toml: vneid.toml.replacen(&first, "Một bước khác hẳn.", 1),
            ..vneid.clone()
        };
        let far = PackFile {
            version: 99,
            ..vneid.clone()
        };
        let refused = record(&stored, &[far, changed]).expect_err("changed steps are refused");
        assert!(refused.contains("give the changed pack version 100"), "{refused}");
    }

    #[test]
    fn the_bundled_packs_all_load() {
        let files = bundled();
        assert!(
            files.iter().any(|f| f.key == "vneid"),
            "{:?}",
            files.iter().map(|f| &f.key).collect::<Vec<_>>()
        );
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/packs");
        let from_dir = from_dir(&dir).expect("the same packs from the directory");
        assert_eq!(from_dir.len(), files.len());
    }

    #[test]
    fn campaigns_use_every_resident_pack_but_not_the_trainees_one() {
        let keys = resident_keys();
        assert!(
            keys.contains(&"vneid".to_owned()) && keys.contains(&"bill_payment".to_owned()),
            "{keys:?}"
        );
        assert!(!keys.contains(&"guide_resident".to_owned()), "{keys:?}");
    }

    #[test]
    fn a_version_keeps_its_steps() {
        let vneid = bundled().into_iter().find(|f| f.key == "vneid").expect("vneid");
        assert!(!steps_changed(&vneid.toml, &vneid));
        let retitled = PackFile {
            toml: vneid
                .toml
                .replacen("title = { vi = \"VNeID", "title = { vi = \"Ứng dụng VNeID", 1),
            ..vneid.clone()
        };
        assert_ne!(retitled.toml, vneid.toml);
        assert!(!steps_changed(&vneid.toml, &retitled), "a title is not a step");
        let parsed = Pack::from_toml(&vneid.toml).expect("vneid");
        let first = parsed.steps[0].instruction.get("vi").expect("vi").clone();
        let reworded = PackFile {
            toml: vneid.toml.replacen(&first, &format!("{first} Nhanh lên."), 1),
            ..vneid.clone()
        };
        assert_ne!(reworded.toml, vneid.toml);
        assert!(steps_changed(&vneid.toml, &reworded));
        let why = refusal(&reworded, reworded.version + 3);
        assert!(
            why.ends_with(&format!("give the changed pack version {}", reworded.version + 4)),
            "{why}"
        );
    }

    #[test]
    fn a_broken_directory_names_every_file() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("a.toml"), "schema = 1\nkey = ").expect("write");
        std::fs::write(dir.path().join("b.toml"), "schema = 1").expect("write");
        let problems = from_dir(dir.path()).expect_err("broken");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("a.toml") && problems[1].contains("b.toml"),
            "{problems:?}"
        );
        let empty = tempfile::tempdir().expect("dir");
        assert!(from_dir(empty.path()).expect_err("empty")[0].contains("no .toml pack files"));
    }
}
