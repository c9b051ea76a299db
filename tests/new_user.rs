//! The README's walk-through, as a newcomer types it: start the server,
//! make an enrolment code, enrol two `doorstep` CLI devices, record a visit
//! on one, sync both, and see the visit on the other.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use doorstep_e2e::{Server, admin, bin};

fn doorstep(db: &Path, args: &[&str]) -> String {
    let out = Command::new(bin("doorstep"))
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("run doorstep");
    assert!(
        out.status.success(),
        "doorstep {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn field(json: &str, name: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {json}"))
        .to_owned()
}

#[test]
fn a_visit_recorded_on_one_cli_device_shows_on_another_after_sync() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    admin(&db, &["campaign", "create", "--demo"]);
    let server = Server::start(&db);
    let code = |member: &str| {
        field(
            &admin(
                &db,
                &[
                    "--json",
                    "enrol-code",
                    "new",
                    "--member",
                    member,
                    "--commune",
                    "Muong Lan",
                ],
            ),
            "code",
        )
    };
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    doorstep(
        &a,
        &["enroll", "--server", &server.url, "--code", &code("Quàng Thị Hoa")],
    );
    doorstep(&b, &["enroll", "--server", &server.url, "--code", &code("Cà Văn Dũng")]);
    doorstep(&a, &["sync"]);

    let household = field(
        &doorstep(
            &a,
            &[
                "--json",
                "household",
                "add",
                "--village",
                "Tam Tu",
                "--head",
                "Lò Văn Pắn",
            ],
        ),
        "household_id",
    );
    doorstep(
        &a,
        &[
            "visit",
            "record",
            "--household",
            &household,
            "--outcome",
            "helped",
            "--notes",
            "Đã cài VNeID",
        ],
    );
    let used = Command::new(bin("doorstep"))
        .arg("--db")
        .arg(&a)
        .args(["enroll", "--server", &server.url, "--code", "AAAAA-AAAAA"])
        .output()
        .unwrap();
    assert_eq!(
        used.status.code(),
        Some(2),
        "an enrolled database is not enrolled again"
    );

    doorstep(&a, &["sync"]);
    doorstep(&b, &["sync"]);
    let shown = doorstep(&b, &["--json", "household", "show", &household]);
    let v: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(v["head_name"], "Lò Văn Pắn");
    assert_eq!(v["visits"][0]["outcome"], "helped", "{shown}");
    assert_eq!(v["visits"][0]["notes"], "Đã cài VNeID", "{shown}");

    let status: serde_json::Value = serde_json::from_str(&doorstep(&a, &["--json", "status"])).unwrap();
    assert_eq!(status["sync"]["pending"], 0, "{status}");
    let devices = admin(&db, &["device", "list"]);
    assert_eq!(devices.lines().count(), 2, "{devices}");

    // The office sees the visit under the volunteer the tablet is enrolled for.
    let overview: serde_json::Value =
        serde_json::from_str(&admin(&db, &["--json", "report", "overview", "--commune", "Muong Lan"])).unwrap();
    assert_eq!(overview["volunteers"][0]["name"], "Quàng Thị Hoa", "{overview}");
    assert_eq!(overview["volunteers"][0]["unit"], "youth_union", "{overview}");
    assert_eq!(overview["visits_per_unit"][0]["key"], "youth_union", "{overview}");
}
