//! `doorstep pack check` on the real packs and on broken fixtures: every
//! kind of broken pack fails loudly, naming file, step and field.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/packs")
}

fn check(args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_doorstep"))
        .arg("pack")
        .arg("check")
        .args(args)
        .env_remove("DOORSTEP_DB")
        .output()
        .expect("runs")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_real_packs_pass() {
    let packs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/packs");
    let out = check(&[&packs]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("no problems"), "{stdout}");
}

#[test]
fn the_good_fixture_passes() {
    let out = check(&[&fixtures().join("good/packs")]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("1 pack files and 1 pictures checked"), "{stdout}");
}

/// Each broken fixture with the problem it must produce.
const BROKEN: &[(&str, &str)] = &[
    ("packs/bad_syntax.toml", "line 25: missing comma"),
    (
        "packs/duplicate_step.toml",
        "key: key \"duplicate_step\" is also used by",
    ),
    (
        "packs/duplicate_step.toml",
        "steps[1] \"install\" > id: duplicate step id (also steps[0])",
    ),
    (
        "packs/missing_illustration.toml",
        "steps[0] \"install\" > illustration: file \"sample/missing.svg\" not found",
    ),
    (
        "packs/missing_translation.toml",
        "steps[1] \"open\" > instruction > ar: missing translation",
    ),
    (
        "packs/untranslated.toml",
        "steps[0] \"install\" > verify > en: same text as vi: not translated",
    ),
    (
        "packs/unknown_blocker.toml",
        "steps[1] \"open\" > blockers[0]: unknown blocker reason \"lost_phone\"",
    ),
    ("packs/unknown_field.toml", "line 5: unknown field `colour`"),
    (
        "packs/unknown_prerequisite.toml",
        "requires[1]: unknown prerequisite \"wifi\"",
    ),
    (
        "packs/unknown_prerequisite.toml",
        "phone > kinds: name at least one kind",
    ),
    ("illustrations/sample/words.svg", "line 3: <text> is not allowed"),
    ("illustrations/sample/unused.svg", "not used by any pack"),
];

#[test]
fn every_kind_of_broken_pack_is_reported_at_once() {
    let dir = fixtures().join("broken");
    let out = check(&[&dir.join("packs")]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for (file, problem) in BROKEN {
        let expected = format!("{}: {problem}", dir.join(file).display());
        assert!(
            stderr.lines().any(|l| l.starts_with(&expected)),
            "missing {expected:?} in\n{stderr}"
        );
    }
    let lines = stderr.lines().filter(|l| !l.starts_with("error: ")).count();
    assert_eq!(lines, BROKEN.len(), "one line per problem:\n{stderr}");
    assert!(
        stderr
            .lines()
            .last()
            .is_some_and(|l| l == "error: 12 problems in 10 pack files"),
        "{stderr}"
    );
}

#[test]
fn each_broken_file_fails_on_its_own() {
    let dir = fixtures().join("broken/packs");
    for entry in std::fs::read_dir(&dir).expect("fixtures") {
        let file = entry.expect("entry").path();
        let out = check(&[&file]);
        let (_, stderr) = text(&out);
        if file.ends_with("duplicate_key.toml") {
            assert!(out.status.success(), "alone, its key is unique: {stderr}");
            continue;
        }
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", file.display());
        let named = if file.ends_with("picture_with_words.toml") {
            "words.svg".to_owned()
        } else {
            file.display().to_string()
        };
        assert!(stderr.contains(&named), "{stderr}");
    }
}

#[test]
fn the_json_report_lists_each_problem_with_its_place() {
    let out = Command::new(env!("CARGO_BIN_EXE_doorstep"))
        .args(["pack", "check", "--json"])
        .arg(fixtures().join("broken/packs/duplicate_step.toml"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["files"], 1);
    let problem = &report["problems"][0];
    assert_eq!(problem["location"], "steps[1] \"install\" > id");
    assert!(
        problem["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("duplicate_step.toml"))
    );
}

/// A scratch git work tree holding a copy of the good fixture.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new(with_git: bool) -> Repo {
        let dir = tempfile::tempdir().expect("dir");
        let good = fixtures().join("good");
        for sub in ["packs", "illustrations/sample"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        for file in ["packs/sample.toml", "illustrations/sample/install.svg"] {
            std::fs::copy(good.join(file), dir.path().join(file)).expect("copy");
        }
        let repo = Repo { dir };
        if with_git {
            repo.git(&["init", "--quiet"]);
            repo.commit("first version");
        }
        repo
    }

    fn git(&self, args: &[&str]) {
        let out = Command::new("git")
            .arg("-C")
            .arg(self.dir.path())
            .args(["-c", "user.name=Test", "-c", "user.email=test@example.invalid"])
            .args(["-c", "commit.gpgsign=false"])
            .args(args)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "--quiet", "-m", message]);
    }

    fn edit(&self, from: &str, to: &str) {
        let path = self.dir.path().join("packs/sample.toml");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains(from), "{from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
    }

    fn check(&self) -> (bool, String) {
        self.check_with(&[])
    }

    fn check_with(&self, flags: &[&str]) -> (bool, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_doorstep"))
            .args(["pack", "check"])
            .args(flags)
            .arg(self.dir.path().join("packs"))
            .output()
            .expect("runs");
        let (stdout, stderr) = text(&out);
        (out.status.success(), format!("{stdout}{stderr}"))
    }
}

#[test]
fn changed_steps_need_a_higher_version_than_the_last_committed_one() {
    let repo = Repo::new(true);
    let (ok, out) = repo.check();
    assert!(ok && out.contains("versions compared with git"), "{out}");

    // A title outside the steps may change without a new version.
    repo.edit("Sample app", "The sample app");
    assert!(repo.check().0, "only steps need a bump");

    // A changed instruction, not yet committed.
    repo.edit("Tap the icon.", "Tap the app's icon.");
    let (ok, out) = repo.check();
    assert!(!ok, "{out}");
    assert!(
        out.contains("sample.toml: version: steps differ from version 1 committed in"),
        "{out}"
    );
    assert!(out.contains("bump it to 2"), "{out}");

    // Committing it does not make it right: the check looks further back.
    repo.commit("reword without a bump");
    let (ok, out) = repo.check();
    assert!(!ok && out.contains("steps differ from version 1"), "{out}");

    repo.edit("version = 1", "version = 2");
    assert!(repo.check().0, "bumped");
    repo.commit("bump");

    // A version never goes down.
    repo.edit("version = 2", "version = 1");
    let (ok, out) = repo.check();
    assert!(
        !ok && out.contains("version 1 is lower than the committed version 2"),
        "{out}"
    );
}

#[test]
fn outside_git_the_version_check_is_skipped_loudly_or_fails_when_required() {
    let repo = Repo::new(false);
    let (ok, out) = repo.check();
    assert!(ok, "{out}");
    assert!(
        out.contains("warning: versions not compared with committed ones") && out.contains("not in a git work tree"),
        "{out}"
    );
    assert!(!out.contains("versions compared with git"), "{out}");
    let (ok, out) = repo.check_with(&["--require-history"]);
    assert!(!ok, "{out}");
    assert!(out.contains("versions cannot be compared with committed ones"), "{out}");
}

#[test]
fn new_packs_in_a_repository_without_commits_are_named() {
    let repo = Repo::new(false);
    repo.git(&["init", "--quiet"]);
    let (ok, out) = repo.check_with(&["--require-history"]);
    assert!(ok, "{out}");
    assert!(out.contains("(not committed yet: sample.toml)"), "{out}");
}

#[test]
fn a_missing_illustrations_directory_is_one_clear_problem() {
    let repo = Repo::new(false);
    std::fs::remove_dir_all(repo.dir.path().join("illustrations")).expect("rm");
    let (ok, out) = repo.check();
    assert!(!ok, "{out}");
    assert!(
        out.contains("the illustrations directory is not there: give it with --illustrations DIR"),
        "{out}"
    );
    assert!(!out.contains("not found in the illustrations directory"), "{out}");
}

/// `pack show FILE --lang L` for every real pack: the whole pack in one
/// language, every code as a word of that language.
#[test]
fn every_pack_reads_in_each_language_alone() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/packs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("packs")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 8, "{files:?}");
    for file in &files {
        for lang in ["vi", "en", "ar"] {
            let out = Command::new(env!("CARGO_BIN_EXE_doorstep"))
                .args(["pack", "show", "--lang", lang])
                .arg(file)
                .output()
                .expect("runs");
            let (stdout, stderr) = text(&out);
            assert!(out.status.success(), "{}: {stderr}", file.display());
            let body = stdout
                .split("\n\n")
                .filter(|part| !part.contains("https://") && !part.contains("http://"));
            for line in body.flat_map(str::lines).filter(|l| !l.trim().is_empty()) {
                let code = line
                    .split(|c: char| !(c.is_ascii_lowercase() || c == '_'))
                    .find(|w| w.contains('_') && w.len() > 3);
                assert!(
                    code.is_none(),
                    "{} {lang}: a raw code {code:?} in {line:?}",
                    file.display()
                );
                if lang == "ar" {
                    assert!(
                        line.chars().any(|c| ('\u{0620}'..='\u{064A}').contains(&c)),
                        "{}: a line with no Arabic: {line:?}",
                        file.display()
                    );
                }
            }
        }
    }
}
