//! `doorstep-server import households` end to end: the real binary on a
//! fresh database with the demo campaign, good and bad registers, dry runs
//! and duplicates, read back with `export household`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "../../../tests/support/pg.rs"]
mod pg;

/// A server database in a temporary directory.
struct Office {
    dir: tempfile::TempDir,
    db: PathBuf,
}

impl Office {
    /// A fresh database with the demo campaign (communes Muong Lan and
    /// Chieng Sinh).
    fn demo() -> Office {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("server.db");
        let office = Office { dir, db };
        office.ok(&["campaign", "create", "--demo"]);
        office
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_doorstep-server"))
            .arg("--db")
            .arg(pg::db_arg(&self.db))
            .args(args)
            .env_remove("DATABASE_URL")
            // Logs on, so the test sees what they would carry.
            .env("DOORSTEP_LOG", "doorstep_server=debug,doorstep_office=debug")
            .output()
            .expect("doorstep-server runs")
    }

    fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Runs a command that must be refused (exit code 2); its standard error.
    fn refused(&self, args: &[&str]) -> (String, Output) {
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        let last = err.lines().last().unwrap_or_default();
        assert!(last.starts_with("error: "), "{err}");
        (err, out)
    }

    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).expect("write the CSV");
        path.to_str().expect("a UTF-8 path").to_owned()
    }

    /// `export KIND` read back: one map of column -> value per record.
    fn export(&self, kind: &str) -> Vec<HashMap<String, String>> {
        let out = self.ok(&["export", kind]);
        let body = out
            .stdout
            .strip_prefix(b"\xEF\xBB\xBF")
            .expect("export starts with a BOM");
        let mut reader = csv::Reader::from_reader(body);
        let header = reader.headers().expect("header").clone();
        reader
            .records()
            .map(|r| {
                let r = r.expect("a CSV record");
                header
                    .iter()
                    .map(str::to_owned)
                    .zip(r.iter().map(str::to_owned))
                    .collect()
            })
            .collect()
    }

    /// Village ids by name.
    fn villages(&self) -> HashMap<String, String> {
        self.export("village")
            .into_iter()
            .map(|v| (v["name"].clone(), v["id"].clone()))
            .collect()
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The commune office's spreadsheet as Excel saves it with Vietnamese
/// settings: UTF-8 with a BOM, semicolons, headers with diacritics.
const REGISTER: &str = "\u{feff}Xã;Thôn/Bản;Chủ hộ;Số điện thoại;Địa chỉ;Số nhân khẩu;Ngôn ngữ;Ghi chú;Vĩ độ;Kinh độ\n\
    Mường Lạn;Tam Tú;Lò Văn Pọm;0912 345 678;Cạnh cầu treo;5;blt;;21.3856;103.0170\n\
    Mường Lạn;Khin;Sùng A Tủa;;Đầu bản;7;hmn;Con trai biết chữ;;\n\
    \n\
    Chiềng Sinh;Nà Sài 1;Quàng Thị Hoa;+84 987 654 321;;3;;;;\n";

#[test]
fn a_vietnamese_register_imports_and_exports() {
    let office = Office::demo();
    let file = office.file("register.csv", REGISTER.as_bytes());
    let out = office.ok(&["import", "households", &file]);
    assert!(
        stdout(&out).contains("imported 3 households (3 rows read, 0 skipped)"),
        "{}",
        stdout(&out)
    );
    // The log says how many, never who.
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("imported=3"), "{log}");
    // Each line without its timestamp, whose digits could hold "345".
    let words: String = log
        .lines()
        .map(|l| l.split_once(' ').map_or(l, |(_, rest)| rest))
        .collect::<Vec<_>>()
        .join("\n");
    for personal in ["Pọm", "Tủa", "Hoa", "0912", "345", "987", "Cạnh"] {
        assert!(!words.contains(personal), "{personal:?} in the log: {log}");
    }

    let villages = office.villages();
    let mut households = office.export("household");
    households.sort_by(|a, b| a["head_name"].cmp(&b["head_name"]));
    let rows: Vec<[&str; 6]> = households
        .iter()
        .map(|h| {
            [
                h["village_id"].as_str(),
                h["head_name"].as_str(),
                h["phone"].as_str(),
                h["landmark"].as_str(),
                h["members_count"].as_str(),
                h["language"].as_str(),
            ]
        })
        .collect();
    assert_eq!(
        rows,
        [
            [
                &villages["Tam Tu"],
                "Lò Văn Pọm",
                "0912345678",
                "Cạnh cầu treo",
                "5",
                "blt"
            ],
            [&villages["Na Sai 1"], "Quàng Thị Hoa", "0987654321", "", "3", ""],
            [&villages["Khin"], "Sùng A Tủa", "", "Đầu bản", "7", "hmn"],
        ]
    );
    assert_eq!(households[0]["lat_e7"], "213856000");
    assert_eq!(households[2]["notes"], "Con trai biết chữ");
}

#[test]
fn a_bad_row_names_line_and_column_and_nothing_is_written() {
    let office = Office::demo();
    let good = office.file("good.csv", REGISTER.as_bytes());
    office.ok(&["import", "households", &good]);
    let csv = "Thôn,Chủ hộ,Số điện thoại\n\
               Tam Tu,Lò Văn Hùng,0912000001\n\
               Tam Tu,,\n\
               Atlantis,Lò Văn A,\n\
               Khin,Sùng A Páo,12345\n";
    let file = office.file("bad.csv", csv.as_bytes());
    let (err, _) = office.refused(&["import", "households", &file, "--commune", "Muong Lan"]);
    for expected in [
        "bad.csv: line 3, column \"Chủ hộ\": is empty",
        "bad.csv: line 4, column \"Thôn\": no village named \"Atlantis\"",
        "bad.csv: line 5, column \"Số điện thoại\": phone \"12345\"",
    ] {
        assert!(err.contains(expected), "{expected:?} missing in {err}");
    }
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.contains("3 of 4 rows have problems; nothing was imported"),
        "{last}"
    );
    assert_eq!(office.export("household").len(), 3, "nothing written");

    // The same with --json: the report on standard output, still exit 2.
    let (_, out) = office.refused(&["--json", "import", "households", &file, "--commune", "Muong Lan"]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(report["rows"], 4);
    assert_eq!(report["imported"], 0);
    assert_eq!(report["problems"][0]["line"], 3);
    assert_eq!(report["problems"][0]["column"], "Chủ hộ");
    assert_eq!(report["problems"][0]["message"], "is empty");
    assert_eq!(office.export("household").len(), 3, "nothing written");

    // Told to skip, the good row goes in.
    let out = office.ok(&[
        "import",
        "households",
        &file,
        "--commune",
        "Muong Lan",
        "--skip-bad-rows",
    ]);
    assert!(
        stdout(&out).contains("imported 1 households (4 rows read, 3 skipped)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(office.export("household").len(), 4);
}

#[test]
fn a_dry_run_writes_nothing() {
    let office = Office::demo();
    let file = office.file("register.csv", REGISTER.as_bytes());
    let out = office.ok(&["import", "households", &file, "--dry-run"]);
    assert!(
        stdout(&out).contains("would import 3 households (3 rows read, 0 skipped)"),
        "{}",
        stdout(&out)
    );
    let out = office.ok(&["--json", "import", "households", &file, "--dry-run"]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(
        (report["rows"].as_u64(), report["dry_run"].as_bool()),
        (Some(3), Some(true))
    );
    assert!(office.export("household").is_empty());
}

#[test]
fn rows_already_imported_are_duplicates() {
    let office = Office::demo();
    let file = office.file("register.csv", REGISTER.as_bytes());
    office.ok(&["import", "households", &file]);
    let ids: Vec<String> = office
        .export("household")
        .into_iter()
        .map(|h| h["id"].clone())
        .collect();

    // The whole file again: every row is already there.
    let (err, _) = office.refused(&["import", "households", &file]);
    assert_eq!(err.matches("is already on the register").count(), 3, "{err}");

    // Typed differently (no diacritics, other case, phone spaced), plus one
    // new household and one repeated within the file.
    let again = "village,commune,head of household,phone,address\n\
                 tam tu,Muong Lan,LO VAN POM,0912345678,canh cau treo\n\
                 Bun,Muong Lan,Cà Văn Ơn,0987000111,\n\
                 Bun,Muong Lan,Ca Van On,0987 000 111,\n";
    let file = office.file("again.csv", again.as_bytes());
    let (err, _) = office.refused(&["import", "households", &file]);
    let pom = ids
        .iter()
        .find(|id| err.contains(id.as_str()))
        .expect("the duplicate names the household");
    assert!(
        err.contains(&format!(
            "line 2: this household is already on the register (household {pom})"
        )),
        "{err}"
    );
    assert!(err.contains("line 4: repeats the household on line 3"), "{err}");
    let out = office.ok(&["import", "households", &file, "--skip-bad-rows"]);
    assert!(stdout(&out).contains("imported 1 households"), "{}", stdout(&out));
    assert_eq!(office.export("household").len(), 4);
}

#[test]
fn unreadable_files_are_refused_with_the_reason() {
    let office = Office::demo();
    // "Lò Văn Hùng" saved as Windows-1258.
    let file = office.file("latin.csv", b"village,head of household\nTam Tu,L\xf2 V\xe3n H\xf9ng\n");
    let (err, _) = office.refused(&["import", "households", &file]);
    assert!(err.contains("line 2 is not UTF-8"), "{err}");
    let file = office.file("columns.csv", b"name,phone\nA,0912345678\n");
    let (err, _) = office.refused(&["import", "households", &file]);
    assert!(err.contains("no village or head of household column"), "{err}");
    let missing = office.dir.path().join("missing.csv");
    let (err, _) = office.refused(&["import", "households", path(&missing)]);
    assert!(err.contains("cannot read"), "{err}");
    assert!(office.export("household").is_empty());
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

#[test]
fn a_commune_register_of_five_thousand_rows_imports_in_one_go() {
    let office = Office::demo();
    let villages = ["Bun", "Ba Nam", "Khin", "Tam Tu", "Hui Long", "Lich Tu"];
    let mut csv = String::from("Thôn,Chủ hộ,Số điện thoại,Số nhân khẩu,Địa chỉ\n");
    for i in 0..5_000 {
        csv.push_str(&format!(
            "{},Lò Văn {i}x,09{i:08},{},Nhà số {i}\n",
            villages[i % villages.len()],
            i % 9 + 1
        ));
    }
    let file = office.file("commune.csv", csv.as_bytes());
    let started = Instant::now();
    let out = office.ok(&["import", "households", &file, "--commune", "Muong Lan"]);
    let took = started.elapsed();
    assert!(stdout(&out).contains("imported 5000 households"), "{}", stdout(&out));
    assert_eq!(office.export("household").len(), 5_000);
    // About a second in a debug build; the bound only catches a regression
    // to one transaction per row.
    assert!(took < Duration::from_secs(30), "took {took:?}");
}
