//! The `doorstep` binary end to end: real processes on real database files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

struct Cli {
    _dir: tempfile::TempDir,
    db: PathBuf,
}

impl Cli {
    fn new() -> Cli {
        let dir = tempfile::tempdir().expect("dir");
        let db = dir.path().join("d.db");
        Cli { _dir: dir, db }
    }

    fn demo() -> Cli {
        let cli = Cli::new();
        cli.ok(&["init", "--demo"]);
        cli
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_doorstep"))
            .args(args)
            .arg("--db")
            .arg(&self.db)
            .env_remove("DOORSTEP_DB")
            .env_remove("DOORSTEP_NOW")
            .env_remove("DOORSTEP_DB_KEY_FILE")
            .output()
            .expect("runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_str(&self.ok(&all)).expect("json output")
    }

    /// Runs a command that must fail with exit code 2 and one error line.
    fn bad(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let err = String::from_utf8(out.stderr).expect("utf-8");
        let last = err.lines().last().unwrap_or_default().to_owned();
        assert!(last.starts_with("error: "), "{err}");
        last
    }

    fn outbox(&self) -> u64 {
        self.json(&["status"])["outbox_total"].as_u64().expect("number")
    }
}

fn first_household(cli: &Cli, village: &str) -> String {
    let list = cli.json(&["household", "list", "--village", village]);
    list[0]["id"].as_str().expect("id").to_owned()
}

#[test]
fn the_demo_lists_households_and_a_visit_grows_the_outbox() {
    let cli = Cli::demo();
    let list = cli.json(&["household", "list", "--village", "Tam Tu"]);
    let rows = list.as_array().expect("array");
    assert_eq!(rows.len(), 44, "Tam Tu has 44 demo households");
    assert!(
        rows.iter()
            .all(|r| r["head_name"].is_string() && r["status"] == "not_visited")
    );
    let before = cli.outbox();
    let id = rows[3]["id"].as_str().expect("id");
    let short = &id[id.len() - 8..];
    cli.ok(&[
        "visit",
        "record",
        "--household",
        short,
        "--outcome",
        "revisit",
        "--follow-up",
        "+2d",
        "--notes",
        "son is away",
    ]);
    assert_eq!(cli.outbox(), before + 1, "one change record for one visit");
    let detail = cli.json(&["household", "show", id]);
    assert_eq!(detail["visits"][0]["outcome"], "revisit");
    assert_eq!(detail["status"], "in_progress", "follow-up is in two days");
}

#[test]
fn demo_data_is_the_same_every_time() {
    let (a, b) = (Cli::demo(), Cli::demo());
    let list = |c: &Cli| c.json(&["household", "list", "--village", "Na Sai 1"]);
    assert_eq!(list(&a), list(&b));
}

#[test]
fn a_checklist_runs_step_by_step_with_the_real_pack() {
    let cli = Cli::demo();
    let household = first_household(&cli, "Khin");
    let person = cli.json(&[
        "person",
        "add",
        "--household",
        &household,
        "--name",
        "Sùng Thị Mỷ",
        "--phone-kind",
        "android",
        "--chip-id",
        "có",
    ]);
    let person = person["person_id"].as_str().expect("id").to_owned();
    let err = cli.bad(&["checklist", "start", "--person", &person, "--pack", "vneid"]);
    assert!(err.contains("no visit today"), "{err}");
    cli.ok(&["visit", "record", "--household", &household, "--outcome", "helped"]);
    let run = cli.json(&["checklist", "start", "--person", &person, "--pack", "vneid"]);
    let run_id = run["id"].as_str().expect("id").to_owned();
    let total = run["steps_total"].as_u64().expect("total");
    assert!(total >= 3, "vneid has steps");
    cli.ok(&["checklist", "step", &run_id, "done"]);
    let after = cli.json(&[
        "checklist",
        "step",
        &run_id,
        "blocked",
        "no_chip_id_card",
        "--note",
        "card at the district",
    ]);
    assert_eq!(after["run"]["status"], "blocked");
    let shown = cli.json(&["checklist", "show", &run_id, "--lang", "en"]);
    assert_eq!(shown["steps_done"], 1);
    assert_eq!(shown["steps"][1]["blocker"], "no_chip_id_card");
    let text = cli.ok(&["checklist", "show", &run_id, "--lang", "ar"]);
    assert!(
        text.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)),
        "Arabic text shown: {text}"
    );
}

#[test]
fn bad_values_give_one_line_naming_the_value_and_change_nothing() {
    let cli = Cli::demo();
    let before = cli.outbox();
    let household = first_household(&cli, "Bun");
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "household",
                "add",
                "--village",
                "Bun",
                "--head",
                "Lò Văn A",
                "--phone",
                "12345",
            ],
            "\"12345\"",
        ),
        (
            &["household", "add", "--village", "Atlantis", "--head", "Lò Văn A"],
            "\"Atlantis\"",
        ),
        (&["household", "add", "--village", "Bun", "--head", "   "], "is empty"),
        (
            &["visit", "record", "--household", &household, "--outcome", "maybe"],
            "\"maybe\"",
        ),
        (
            &[
                "visit",
                "record",
                "--household",
                &household,
                "--outcome",
                "helped",
                "--follow-up",
                "someday",
            ],
            "\"someday\"",
        ),
        (
            &["visit", "record", "--household", "zzzzzzzz", "--outcome", "helped"],
            "\"zzzzzzzz\"",
        ),
        (
            &["visit", "record", "--household", "abcdef12", "--outcome", "helped"],
            "abcdef12",
        ),
        (
            &["household", "list", "--village", "Bun", "--status", "sleeping"],
            "\"sleeping\"",
        ),
        (
            &[
                "person",
                "add",
                "--household",
                &household,
                "--name",
                "A",
                "--chip-id",
                "maybe",
            ],
            "\"maybe\"",
        ),
        (&["export", "--what", "secrets"], "\"secrets\""),
        (
            &[
                "visit",
                "record",
                "--household",
                &household,
                "--outcome",
                "helped",
                "--follow-up",
                "+99999999d",
            ],
            "\"+99999999d\"",
        ),
        (&["household", "list", "--village", "Bun", "--lang", "fr"], "\"fr\""),
    ];
    for (args, named) in cases {
        let line = cli.bad(args);
        assert!(line.contains(named), "{args:?}: {line}");
    }
    assert_eq!(cli.outbox(), before, "nothing was written");
}

#[test]
fn the_database_file_is_guarded() {
    let cli = Cli::new();
    let line = cli.bad(&["status"]);
    assert!(line.contains("doorstep init"), "{line}");
    assert!(!cli.db.exists(), "status does not create a database");

    std::fs::write(&cli.db, vec![0x42; 8192]).expect("write");
    let line = cli.bad(&["status"]);
    assert!(line.contains("not a readable Doorstep database"), "{line}");
    assert_eq!(
        std::fs::read(&cli.db).expect("read"),
        vec![0x42; 8192],
        "left untouched"
    );
    let line = cli.bad(&["init"]);
    assert!(line.contains("already holds"), "{line}");

    let newer = Cli::demo();
    set_user_version(&newer.db, 42);
    let line = newer.bad(&["household", "list", "--village", "Bun"]);
    assert!(
        line.contains("newer Doorstep") && line.contains("update the app"),
        "{line}"
    );
}

fn set_user_version(db: &Path, v: u32) {
    // The file is encrypted: poke it through SQLCipher with its key file,
    // as an operator with the SQLite shell would.
    let conn = doorstep_device::key::open_raw(db).expect("open with its key");
    conn.pragma_update(None, "user_version", v).expect("set user_version");
}

#[test]
fn a_broken_csv_reports_every_line_and_imports_nothing() {
    let cli = Cli::demo();
    let before = cli.outbox();
    let csv = cli.db.with_extension("csv");
    std::fs::write(
        &csv,
        "Thôn,Chủ hộ,Số điện thoại\nTam Tu,Lò Văn Hùng,0912345678\nNowhere,Lò Văn A,\nTam Tu,,\n",
    )
    .expect("csv");
    let out = cli.run(&["import", "households", csv.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 3, column \"Thôn\"") && err.contains("line 4, column \"Chủ hộ\": is empty"),
        "{err}"
    );
    assert!(
        err.lines().last().unwrap_or_default().contains("nothing was imported"),
        "{err}"
    );
    assert_eq!(cli.outbox(), before);
    let ok = cli.ok(&["import", "households", csv.to_str().expect("path"), "--skip-bad-rows"]);
    assert!(ok.contains("imported 1 households"), "{ok}");
}

#[test]
fn export_writes_csv_that_reads_back() {
    let cli = Cli::demo();
    let csv = cli.ok(&["export", "--what", "households"]);
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .expect("header")
            .starts_with("id,commune,village,head_name")
    );
    assert_eq!(lines.count(), 424, "every demo household");
    let path = cli.db.with_extension("people.csv");
    cli.ok(&[
        "export",
        "--what",
        "people",
        "--out",
        path.to_str().expect("path"),
        "--excel",
    ]);
    let bytes = std::fs::read(&path).expect("read");
    assert!(bytes.starts_with("\u{feff}id,".as_bytes()), "BOM for spreadsheets");
}

#[test]
fn a_practice_database_says_it_never_syncs() {
    let cli = Cli::new();
    cli.ok(&["init", "--demo", "--practice"]);
    assert_eq!(cli.json(&["status"])["practice"], true);
    assert!(cli.ok(&["status"]).contains("never syncs"));
}

#[test]
fn trainees_practise_guiding_in_a_practice_database_only() {
    let practice = Cli::new();
    practice.ok(&["init", "--practice"]);
    let packs = practice.json(&["pack", "list"]);
    let keys: Vec<&str> = packs
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|p| p["key"].as_str())
        .collect();
    assert_eq!(
        keys.len(),
        8,
        "seven packs for residents and the trainees' one: {keys:?}"
    );
    assert!(keys.contains(&"guide_resident"), "{keys:?}");
    let household = first_household(&practice, "Bun");
    let person = practice.json(&["person", "add", "--household", &household, "--name", "Lò Thị Ánh"]);
    let person = person["person_id"].as_str().expect("id").to_owned();
    practice.ok(&["visit", "record", "--household", &household, "--outcome", "helped"]);
    let run = practice.json(&["checklist", "start", "--person", &person, "--pack", "guide_resident"]);
    let run_id = run["id"].as_str().expect("id").to_owned();
    let total = run["steps_total"].as_u64().expect("total");
    for _ in 0..total {
        practice.ok(&["checklist", "step", &run_id, "done"]);
    }
    assert_eq!(practice.json(&["checklist", "show", &run_id])["status"], "completed");

    let campaign = Cli::demo();
    let household = first_household(&campaign, "Bun");
    let person = campaign.json(&["person", "add", "--household", &household, "--name", "Lò Thị Ánh"]);
    let person = person["person_id"].as_str().expect("id").to_owned();
    campaign.ok(&["visit", "record", "--household", &household, "--outcome", "helped"]);
    let err = campaign.bad(&["checklist", "start", "--person", &person, "--pack", "guide_resident"]);
    assert!(err.contains("practice database"), "{err}");
}

#[test]
fn help_reads_like_a_manual() {
    let out = Command::new(env!("CARGO_BIN_EXE_doorstep"))
        .arg("--help")
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "house to house",
        "outbox",
        "A first session",
        "household",
        "checklist",
        "--json",
        "exit code",
    ] {
        assert!(text.contains(needle), "--help lacks {needle:?}:\n{text}");
    }
}

#[test]
fn follow_ups_and_coverage_work_offline() {
    let cli = Cli::new();
    cli.ok(&["init", "--demo", "--history"]);
    let coverage = cli.json(&["coverage"]);
    let villages = coverage.as_array().expect("array");
    assert_eq!(villages.len(), 8);
    let visited: u64 = villages.iter().map(|v| v["visited"].as_u64().expect("n")).sum();
    assert!(visited > 0, "history has visits");
    let due = cli.json(&["follow-ups", "--by", "+7d"]);
    assert!(due.as_array().is_some_and(|a| !a.is_empty()));
}

#[test]
fn the_database_is_encrypted_and_status_says_where_its_key_is() {
    let cli = Cli::demo();
    let key = PathBuf::from(format!("{}.key", cli.db.display()));
    let status = cli.ok(&["status"]);
    assert!(
        status.contains("key held by: a key file") && status.contains(&key.display().to_string()),
        "{status}"
    );
    assert_eq!(cli.json(&["status"])["key_held_by"], "key_file");
    let header = std::fs::read(&cli.db).expect("read");
    assert!(!header.starts_with(b"SQLite format 3"), "not a plain SQLite file");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key).expect("key").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the key file is the owner's only");
    let text = std::fs::read_to_string(&key).expect("key");
    assert!(
        !cli.ok(&["status", "--json"]).contains(text.trim()),
        "the key is never printed"
    );
}

#[test]
fn a_missing_wrong_or_foreign_key_is_refused_and_the_file_left_untouched() {
    let cli = Cli::demo();
    let other = Cli::demo();
    let key = PathBuf::from(format!("{}.key", cli.db.display()));
    let other_key = PathBuf::from(format!("{}.key", other.db.display()));
    let before = std::fs::read(&cli.db).expect("read");

    // Another tablet's key.
    let line = cli.bad(&["--key-file", other_key.to_str().expect("path"), "status"]);
    assert!(line.contains("cannot be opened with the key from key file"), "{line}");
    // The key file gone.
    let kept = std::fs::read(&key).expect("key");
    std::fs::remove_file(&key).expect("remove");
    let line = cli.bad(&["status"]);
    assert!(
        line.contains("no key for it was found") && line.contains(".key"),
        "{line}"
    );
    // A damaged key file.
    std::fs::write(&key, "not a key").expect("write");
    let line = cli.bad(&["status"]);
    assert!(line.contains(&key.display().to_string()), "{line}");
    assert!(!line.contains("not a key"), "the key file's text is not echoed: {line}");
    assert_eq!(std::fs::read(&cli.db).expect("read"), before, "the file is untouched");

    // The right key, kept elsewhere and named by the environment.
    let elsewhere = cli.db.with_extension("secret");
    std::fs::rename(&key, &elsewhere).ok();
    std::fs::write(&elsewhere, &kept).expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let out = Command::new(env!("CARGO_BIN_EXE_doorstep"))
        .args(["status", "--json", "--db"])
        .arg(&cli.db)
        .env("DOORSTEP_DB_KEY_FILE", &elsewhere)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(v["households"].as_u64().expect("n") > 0);
    assert_eq!(v["key_location"], format!("key file {}", elsewhere.display()));
}

#[test]
fn a_new_database_keeps_its_key_where_key_file_says() {
    let cli = Cli::new();
    let key = cli.db.with_extension("k");
    cli.ok(&["init", "--demo", "--key-file", key.to_str().expect("path")]);
    assert!(key.exists());
    assert!(!PathBuf::from(format!("{}.key", cli.db.display())).exists());
    let line = cli.bad(&["status"]);
    assert!(line.contains("no key for it was found"), "{line}");
    let status = cli.ok(&["status", "--key-file", key.to_str().expect("path")]);
    assert!(status.contains("key held by: a key file"), "{status}");
}
