//! One file of about 800 lines: its five tests share the seeded campaign and
//! the workbook reader above them, which is most of it.
//!
//! `doorstep-server export visits|checklists|coverage|workbook` end to end:
//! a database seeded through the store API (households, people, visits and
//! runs written by the office; step events pushed by enrolled tablets, as
//! in the field), then the real binary's files read back: the workbook
//! with calamine, CSV with the csv crate, and compared with `report
//! overview --json`.

use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use calamine::{Data, Range, Reader, Xlsx, open_workbook_from_rs};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use doorstep_core::change::{Change, ChangeOp, FieldWrite};
use doorstep_core::hlc::{Hlc, wall_millis};
use doorstep_core::ids::{ChangeId, DeviceId};
use doorstep_core::schema::{EntityKind, FieldValue, format_timestamp};
use doorstep_ingest::OfficeWrite;
use doorstep_ingest::pack_catalog;
use doorstep_office::admin;
use doorstep_store::Store;
use doorstep_store::any::AnyStore;
use doorstep_store::auth;
use serde_json::Value;
use uuid::Uuid;

#[path = "../../../tests/support/pg.rs"]
mod pg;

/// The day follow-ups are counted against, so figures do not move with
/// the calendar.
const TODAY: &str = "2026-11-28";

/// A seeded server database in a temporary directory.
struct Office {
    dir: tempfile::TempDir,
    db: PathBuf,
}

impl Office {
    fn seeded() -> Office {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("server.db");
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(seed(&db));
        Office { dir, db }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_doorstep-server"))
            .arg("--db")
            .arg(pg::db_arg(&self.db))
            .args(args)
            .env_remove("DATABASE_URL")
            .env("DOORSTEP_LOG", "warn")
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

    /// A command that must be refused with exit code 2; its standard error.
    fn refused(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        err
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().expect("a UTF-8 path").to_owned()
    }

    fn overview(&self, filter: &[&str]) -> Value {
        let mut args = vec!["--json", "report", "overview", "--today", TODAY];
        args.extend(filter);
        serde_json::from_slice(&self.ok(&args).stdout).expect("JSON")
    }

    /// `export WHAT ... --out FILE.xlsx` read back.
    fn workbook(&self, what: &str, filter: &[&str]) -> Book {
        let file = self.path(&format!("{what}-{}.xlsx", filter.join("-").replace(' ', "_")));
        let mut args = vec!["export", what, "--today", TODAY, "--out", file.as_str()];
        args.extend(filter);
        let out = self.ok(&args);
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with(&format!("wrote {file}")),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        Book::read(&std::fs::read(&file).expect("the file was written"))
    }

    /// `export WHAT ...` as CSV on standard output: the header and the rows.
    fn csv(&self, what: &str, filter: &[&str]) -> (Vec<String>, Vec<Vec<String>>) {
        let mut args = vec!["export", what, "--today", TODAY];
        args.extend(filter);
        let out = self.ok(&args);
        let body = out
            .stdout
            .strip_prefix("\u{feff}".as_bytes())
            .expect("CSV starts with the UTF-8 byte-order mark");
        let mut reader = csv::Reader::from_reader(body);
        let header = reader.headers().expect("header").iter().map(str::to_owned).collect();
        let rows = reader
            .records()
            .map(|r| r.expect("a record").iter().map(str::to_owned).collect())
            .collect();
        (header, rows)
    }
}

/// A workbook read back: sheet names and their cells.
struct Book {
    names: Vec<String>,
    sheets: HashMap<String, Range<Data>>,
}

impl Book {
    fn read(bytes: &[u8]) -> Book {
        let mut xlsx: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("a valid XLSX file");
        let names = xlsx.sheet_names();
        let sheets = names
            .iter()
            .map(|n| (n.clone(), xlsx.worksheet_range(n).expect("sheet reads")))
            .collect();
        Book { names, sheets }
    }

    /// The table whose header starts with `first` in row 0: its header and
    /// rows (up to the first empty row), as text.
    fn table(&self, sheet: &str, first: &str) -> (Vec<String>, Vec<Vec<String>>) {
        let range = &self.sheets[sheet];
        let (_, last_col) = range.end().expect("a sheet with cells");
        let cell = |r: u32, c: u32| match range.get_value((r, c)) {
            None | Some(Data::Empty) => String::new(),
            Some(Data::DateTime(d)) => date_of(d.as_f64()),
            Some(Data::Float(f)) if f.fract() == 0.0 => format!("{f}"),
            Some(other) => other.to_string(),
        };
        // A table starts after an empty column (or at the first).
        let start = (0..=last_col)
            .find(|c| cell(0, *c) == first && (*c == 0 || cell(0, c - 1).is_empty()))
            .unwrap_or_else(|| panic!("no table {first:?} in sheet {sheet:?}"));
        let end = (start..=last_col + 1)
            .find(|c| cell(0, *c).is_empty())
            .unwrap_or(last_col + 1);
        let header = (start..end).map(|c| cell(0, c)).collect();
        let mut rows = Vec::new();
        for r in 1.. {
            let row: Vec<String> = (start..end).map(|c| cell(r, c)).collect();
            if row.iter().all(String::is_empty) {
                break;
            }
            rows.push(row);
        }
        (header, rows)
    }
}

/// An Excel serial day as YYYY-MM-DD; a time of day as HH:MM.
fn date_of(serial: f64) -> String {
    if serial < 1.0 {
        let minutes = (serial * 24.0 * 60.0).round() as i64;
        return format!("{:02}:{:02}", minutes / 60, minutes % 60);
    }
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30).expect("a date");
    (epoch + Duration::days(serial as i64)).to_string()
}

/// Rows as maps from header to value.
fn records(header: &[String], rows: &[Vec<String>]) -> Vec<HashMap<String, String>> {
    rows.iter()
        .map(|r| header.iter().cloned().zip(r.iter().cloned()).collect())
        .collect()
}

fn t(s: &str) -> FieldValue {
    FieldValue::Text(s.to_owned())
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("a time").with_timezone(&Utc)
}

fn create(kind: EntityKind, fields: Vec<(&str, FieldValue)>) -> (Uuid, OfficeWrite) {
    let id = Uuid::now_v7();
    let write = OfficeWrite {
        kind,
        id,
        create: true,
        fields: fields.into_iter().map(|(f, v)| (f.to_owned(), v)).collect(),
        resolves_conflicts: false,
    };
    (id, write)
}

/// A demo member's id.
async fn member(store: &AnyStore, name: &str) -> FieldValue {
    let (id, _) = admin::find(store, EntityKind::Member, name)
        .await
        .expect("a demo member");
    t(&id.hyphenated().to_string())
}

/// A tablet enrolled for `member` in `commune`.
async fn tablet(store: &AnyStore, member: &str, commune: &str, now: DateTime<Utc>) -> DeviceId {
    let code = admin::new_enrol_code(store, member, commune, Duration::days(1), now)
        .await
        .expect("a code");
    let key = store.token_key();
    store
        .enroll(
            key.hash(&auth::normalise_code(&code.code)),
            key.hash(&format!("token of {member}")),
            None,
            now,
        )
        .await
        .expect("enrolled")
        .device_id
}

/// Pushes step events (run, step, outcome, blocker) from a tablet.
async fn push_steps(
    store: &AnyStore,
    device: DeviceId,
    steps: &[(Uuid, &str, &str, Option<&str>)],
    now: DateTime<Utc>,
) {
    let changes: Vec<Change> = steps
        .iter()
        .enumerate()
        .map(|(i, (run, step, outcome, blocker))| {
            let seq = i as u64 + 1;
            let id = ChangeId::derive(device, seq);
            let mut fields = vec![
                ("run_id", t(&run.hyphenated().to_string())),
                ("step_id", t(step)),
                ("outcome", t(outcome)),
                ("at", t(&format_timestamp(now))),
            ];
            if let Some(b) = blocker {
                fields.push(("blocker", t(b)));
            }
            Change {
                id,
                device,
                seq,
                hlc: Hlc::new(wall_millis(now), u16::try_from(i).expect("few steps")),
                entity: EntityKind::StepEvent,
                entity_id: id.as_uuid(),
                op: ChangeOp::Create,
                fields: fields
                    .into_iter()
                    .map(|(f, value)| FieldWrite {
                        field: f.to_owned(),
                        value,
                        base: None,
                        resolves: Vec::new(),
                    })
                    .collect(),
            }
        })
        .collect();
    let pushed = store
        .push(device, 0, changes, now)
        .await
        .expect("database")
        .expect("batch accepted");
    assert!(pushed.rejected.is_empty(), "{:?}", pushed.rejected);
    assert_eq!(pushed.accepted, steps.len());
}

/// The demo campaign and a few days of work:
///
/// | household (village)          | visit (UTC -> local day)            | runs                           |
/// |------------------------------|-------------------------------------|--------------------------------|
/// | Lò Văn Pắn (Bun)             | 11-20 01:30 -> 11-20 08:30 helped   | vneid completed, vssid blocked |
/// | Quàng Thị Mường (Bun)        | 11-20 23:30 -> 11-21 06:30 nobody   |                                |
/// | Sùng A Tủa (Khin)            | 11-22 03:00 -> 11-22 10:00 partial  | vneid not started (11-22)      |
/// | Lường Văn Mường (Na Sai 1)   | 11-23 02:00 -> 11-23 09:00 helped   | vneid blocked (11-23)          |
/// | Hà Thị Lan (Tam Tu)          | never visited                       |                                |
async fn seed(db: &Path) {
    let store = AnyStore::open(&pg::db_arg(db)).await.expect("store");
    let now = Utc::now();
    let created = admin::create_demo_campaign(&store, now).await.expect("demo campaign");
    store
        .record_packs(pack_catalog::bundled(), now)
        .await
        .expect("database")
        .expect("packs");
    let village = |name: &str| {
        created
            .communes
            .iter()
            .flat_map(|(_, _, villages)| villages)
            .find(|(_, n)| n == name)
            .map(|(id, _)| t(&id.to_string()))
            .expect("a demo village")
    };
    let id = |u: Uuid| t(&u.hyphenated().to_string());
    let office = t(&store.office_device().to_string());
    let mut writes = Vec::new();
    let mut household = |name: &str, v: &str| {
        let (hid, w) = create(
            EntityKind::Household,
            vec![
                ("village_id", village(v)),
                ("head_name", t(name)),
                ("created_at", t(&format_timestamp(now))),
            ],
        );
        writes.push(w);
        hid
    };
    let pan = household("Lò Văn Pắn", "Bun");
    let muong = household("Quàng Thị Mường", "Bun");
    let tua = household("Sùng A Tủa", "Khin");
    let na_sai = household("Lường Văn Mường", "Na Sai 1");
    household("Hà Thị Lan", "Tam Tu");
    let mut person = |h: Uuid, name: &str| {
        let (pid, w) = create(EntityKind::Person, vec![("household_id", id(h)), ("name", t(name))]);
        writes.push(w);
        pid
    };
    let pan_p = person(pan, "Lò Văn Pắn");
    let xuan_p = person(pan, "Lò Thị Xuân");
    person(muong, "Quàng Thị Mường");
    let tua_p = person(tua, "Sùng A Tủa");
    let na_sai_p = person(na_sai, "Lường Văn Mường");
    let thanh = member(&store, "Lò Văn Thành").await;
    let nga = member(&store, "Lò Thị Nga").await;
    let mut visit = |h: Uuid, started: &str, outcome: &str, extra: Vec<(&str, FieldValue)>| {
        let mut fields = vec![
            ("household_id", id(h)),
            ("device_id", office.clone()),
            ("started_at", t(&format_timestamp(at(started)))),
            ("outcome", t(outcome)),
        ];
        fields.extend(extra);
        let (vid, w) = create(EntityKind::Visit, fields);
        writes.push(w);
        vid
    };
    let v_pan = visit(
        pan,
        "2026-11-20T01:30:00Z",
        "helped",
        vec![
            ("member_id", thanh.clone()),
            ("notes", t("Con trai biết chữ, nhà sàn mái xanh")),
        ],
    );
    visit(
        muong,
        "2026-11-20T23:30:00Z",
        "nobody_home",
        vec![("member_id", thanh.clone()), ("follow_up_on", t("2026-11-25"))],
    );
    let v_tua = visit(tua, "2026-11-22T03:00:00Z", "partial", vec![("referred_by", id(pan_p))]);
    let v_na_sai = visit(na_sai, "2026-11-23T02:00:00Z", "helped", vec![("member_id", nga)]);
    let vneid = pack_catalog::bundled()
        .into_iter()
        .find(|p| p.key == "vneid")
        .expect("vneid is built in");
    let vssid = pack_catalog::bundled()
        .into_iter()
        .find(|p| p.key == "vssid")
        .expect("vssid is built in");
    let mut run = |v: Uuid, h: Uuid, p: Uuid, pack: &doorstep_core::protocol::PackFile, started: &str| {
        let (rid, w) = create(
            EntityKind::ChecklistRun,
            vec![
                ("visit_id", id(v)),
                ("person_id", id(p)),
                ("household_id", id(h)),
                ("pack_key", t(&pack.key)),
                ("pack_version", FieldValue::Int(i64::from(pack.version))),
                ("started_at", t(&format_timestamp(at(started)))),
            ],
        );
        writes.push(w);
        rid
    };
    let r_pan = run(v_pan, pan, pan_p, &vneid, "2026-11-20T01:40:00Z");
    let r_xuan = run(v_pan, pan, xuan_p, &vssid, "2026-11-20T02:10:00Z");
    run(v_tua, tua, tua_p, &vneid, "2026-11-22T03:10:00Z");
    let r_na_sai = run(v_na_sai, na_sai, na_sai_p, &vneid, "2026-11-23T02:05:00Z");
    store.office_write(writes, now).await.expect("office writes");

    let steps = |pack: &doorstep_core::protocol::PackFile| -> Vec<String> {
        doorstep_core::pack::Pack::from_toml(&pack.toml)
            .expect("a pack")
            .steps
            .into_iter()
            .map(|s| s.id)
            .collect()
    };
    let vneid_steps = steps(&vneid);
    let vssid_steps = steps(&vssid);
    let mut muong_lan: Vec<(Uuid, &str, &str, Option<&str>)> =
        vneid_steps.iter().map(|s| (r_pan, s.as_str(), "done", None)).collect();
    muong_lan.push((r_xuan, &vssid_steps[0], "blocked", Some("no_chip_id_card")));
    let device = tablet(&store, "Lò Văn Thành", "Muong Lan", now).await;
    push_steps(&store, device, &muong_lan, now).await;
    let device = tablet(&store, "Lò Thị Nga", "Chieng Sinh", now).await;
    push_steps(
        &store,
        device,
        &[(r_na_sai, &vneid_steps[0], "blocked", Some("no_smartphone"))],
        now,
    )
    .await;
}

fn number(v: &Value) -> String {
    v.as_u64().expect("a count").to_string()
}

/// The summary sheet says what `report overview --json` says, for the
/// same filter: coverage per village and per commune, checklist outcomes
/// per pack, blockers.
fn assert_summary_matches(book: &Book, summary: &str, overview: &Value) {
    let (header, rows) = book.table(summary, "Xã");
    let coverage = records(&header, &rows);
    let fields = [
        ("Số hộ", "households"),
        ("Đã tiếp cận", "reached"),
        ("Chưa thăm", "not_visited"),
        ("Cần quay lại", "follow_up_due"),
        ("Đang thực hiện", "in_progress"),
        ("Đã xong", "done"),
    ];
    let villages = overview["villages"].as_array().expect("villages");
    let mut totals: HashMap<String, HashMap<&str, u64>> = HashMap::new();
    for v in villages {
        let commune = v["commune"].as_str().expect("commune");
        let name = v["village"].as_str().expect("village");
        let row = coverage
            .iter()
            .find(|r| r["Xã"] == commune && r["Thôn/Bản"] == name)
            .unwrap_or_else(|| panic!("no summary row for {commune} / {name}"));
        for (column, key) in fields {
            assert_eq!(row[column], number(&v[key]), "{commune} / {name}: {column}");
            *totals.entry(commune.to_owned()).or_default().entry(key).or_default() += v[key].as_u64().unwrap_or(0);
        }
    }
    assert_eq!(
        coverage.len(),
        villages.len() + totals.len(),
        "a row per village and per commune"
    );
    for (commune, sums) in &totals {
        let row = coverage
            .iter()
            .find(|r| &r["Xã"] == commune && r["Thôn/Bản"] == "Cả xã")
            .unwrap_or_else(|| panic!("no total for {commune}"));
        for (column, key) in fields {
            assert_eq!(row[column], sums[key].to_string(), "{commune}: {column}");
        }
    }

    let (header, rows) = book.table(summary, "Gói hướng dẫn");
    let packs = records(&header, &rows);
    let expected = overview["packs"].as_array().expect("packs");
    assert_eq!(packs.len(), expected.len());
    for (row, p) in packs.iter().zip(expected) {
        assert_eq!(row["Gói hướng dẫn"], pack_title(p["pack"].as_str().expect("key")));
        assert_eq!(row["Số lượt"], number(&p["runs"]));
        assert_eq!(row["Hoàn thành"], number(&p["completed"]));
        assert_eq!(row["Bị vướng"], number(&p["blocked"]));
        assert_eq!(row["Đang làm"], number(&p["in_progress"]));
        assert_eq!(row["Người dân được giúp"], number(&p["residents_helped"]));
    }

    let (_, rows) = book.table(summary, "Lý do vướng");
    let expected: Vec<Vec<String>> = overview["blockers"]
        .as_array()
        .expect("blockers")
        .iter()
        .map(|b| {
            let reason = b["key"].as_str().expect("key").parse().expect("a blocker reason");
            vec![
                doorstep_core::labels::blocker(reason, "vi").to_owned(),
                number(&b["count"]),
            ]
        })
        .collect();
    assert_eq!(rows, expected);
}

#[test]
fn the_workbook_has_the_overview_figures_and_a_sheet_per_village() {
    let office = Office::seeded();
    let book = office.workbook("workbook", &[]);
    // Communes and villages by name, as the overview orders them.
    assert_eq!(
        book.names,
        [
            "Tổng hợp",
            "Na Sai 1",
            "Na Sai 2",
            "Ba Nam",
            "Bun",
            "Hui Long",
            "Khin",
            "Lich Tu",
            "Tam Tu"
        ]
    );
    let overview = office.overview(&[]);
    assert_summary_matches(&book, "Tổng hợp", &overview);
    // The seeded figures themselves, so a wrong overview cannot pass.
    let (header, rows) = book.table("Tổng hợp", "Xã");
    let bun = records(&header, &rows)
        .into_iter()
        .find(|r| r["Thôn/Bản"] == "Bun")
        .expect("Bun");
    assert_eq!(
        [
            &bun["Số hộ"],
            &bun["Đã tiếp cận"],
            &bun["Cần quay lại"],
            &bun["Đang thực hiện"]
        ],
        ["2", "1", "1", "1"]
    );
    let (_, blockers) = book.table("Tổng hợp", "Lý do vướng");
    assert_eq!(blockers.len(), 2, "{blockers:?}");
    let (_, filter) = book.table("Tổng hợp", "Bộ lọc");
    assert!(
        filter.contains(&vec!["Xã".to_owned(), "Tất cả".to_owned()]),
        "{filter:?}"
    );
    assert!(filter.contains(&vec!["Tình trạng tính đến ngày".to_owned(), TODAY.to_owned()]));

    // Bun's sheet: its visits (local days and times, Vietnamese intact)
    // and, beside them, its checklist runs.
    let (header, rows) = book.table("Bun", "Ngày thăm");
    let visits = records(&header, &rows);
    assert_eq!(visits.len(), 2);
    assert_eq!(visits[0]["Chủ hộ"], "Lò Văn Pắn");
    assert_eq!(
        (visits[0]["Ngày thăm"].as_str(), visits[0]["Giờ"].as_str()),
        ("2026-11-20", "08:30")
    );
    assert_eq!(visits[0]["Kết quả"], "Đã giúp được");
    assert_eq!(visits[0]["Tình nguyện viên"], "Lò Văn Thành");
    assert_eq!(visits[0]["Đơn vị"], "Văn hóa - Xã hội");
    assert_eq!(visits[0]["Ghi chú"], "Con trai biết chữ, nhà sàn mái xanh");
    // 23:30 UTC is 06:30 the next morning in Điện Biên.
    assert_eq!(visits[1]["Chủ hộ"], "Quàng Thị Mường");
    assert_eq!(
        (visits[1]["Ngày thăm"].as_str(), visits[1]["Giờ"].as_str()),
        ("2026-11-21", "06:30")
    );
    assert_eq!(visits[1]["Hẹn quay lại"], "2026-11-25");
    let (header, rows) = book.table("Bun", "Chủ hộ");
    let runs = records(&header, &rows);
    assert_eq!(runs.len(), 2);
    let xuan = runs
        .iter()
        .find(|r| r["Người được hướng dẫn"] == "Lò Thị Xuân")
        .expect("Xuân's run");
    assert_eq!(xuan["Gói hướng dẫn"], pack_title("vssid"));
    assert_eq!(xuan["Trạng thái"], "Bị vướng");
    assert_eq!(xuan["Lý do vướng"], "Chưa có thẻ Căn cước gắn chip");
    let pan = runs
        .iter()
        .find(|r| r["Người được hướng dẫn"] == "Lò Văn Pắn")
        .expect("Pắn's run");
    assert_eq!(pan["Trạng thái"], "Hoàn thành");
    assert_eq!(pan["Số bước đã xong"], pan["Tổng số bước"]);
    // Khin's visit names the neighbour who sent them.
    let (header, rows) = book.table("Khin", "Ngày thăm");
    assert_eq!(records(&header, &rows)[0]["Người giới thiệu"], "Lò Văn Pắn");
    // A village without work still has its sheet, headers only.
    let (_, rows) = book.table("Tam Tu", "Ngày thăm");
    assert!(rows.is_empty());
}

#[test]
fn a_commune_workbook_and_english_headers() {
    let office = Office::seeded();
    let book = office.workbook("workbook", &["--commune", "Chieng Sinh"]);
    assert_eq!(book.names, ["Tổng hợp", "Na Sai 1", "Na Sai 2"]);
    assert_summary_matches(&book, "Tổng hợp", &office.overview(&["--commune", "Chieng Sinh"]));
    let (_, rows) = book.table("Na Sai 1", "Chủ hộ");
    assert_eq!(rows.len(), 1);
    assert!(rows[0].contains(&"Lường Văn Mường".to_owned()), "{rows:?}");

    let book = office.workbook("workbook", &["--commune", "Muong Lan", "--lang", "en"]);
    assert_eq!(book.names[0], "Summary");
    let (header, _) = book.table("Bun", "Visit day");
    assert!(header.contains(&"Head of household".to_owned()), "{header:?}");
    let (_, rows) = book.table("Summary", "Blocked by");
    assert_eq!(rows, [["No chip ID card", "1"]]);

    // One table as XLSX: chosen by the file's extension.
    let book = office.workbook("visits", &["--village", "Bun", "--lang", "en"]);
    assert_eq!(book.names, ["Visits"]);
    let (header, rows) = book.table("Visits", "Commune");
    let visits = records(&header, &rows);
    assert_eq!(visits.len(), 2);
    assert_eq!(visits[0]["Head of household"], "Lò Văn Pắn");
    assert_eq!(visits[0]["Outcome"], "Helped");
    assert_eq!(visits[0]["Visit day"], "2026-11-20");
}

#[test]
fn csv_exports_start_with_a_bom_and_match_the_overview() {
    let office = Office::seeded();
    let out = office.ok(&["export", "visits"]);
    assert!(out.stdout.starts_with(b"\xEF\xBB\xBF"), "UTF-8 byte-order mark");

    let (header, rows) = office.csv("visits", &["--lang", "en"]);
    assert_eq!(
        header,
        [
            "Commune",
            "Village",
            "Visit day",
            "Time",
            "Head of household",
            "Outcome",
            "Follow-up on",
            "Volunteer",
            "Unit",
            "Referred by",
            "Notes",
            "Household id"
        ]
    );
    let visits = records(&header, &rows);
    assert_eq!(visits.len(), 4);
    let muong = visits
        .iter()
        .find(|v| v["Head of household"] == "Quàng Thị Mường")
        .expect("Mường's visit");
    assert_eq!(
        (muong["Commune"].as_str(), muong["Village"].as_str()),
        ("Muong Lan", "Bun")
    );
    assert_eq!(
        (muong["Visit day"].as_str(), muong["Time"].as_str()),
        ("2026-11-21", "06:30")
    );
    assert_eq!(muong["Outcome"], "Nobody home");
    assert_eq!(muong["Follow-up on"], "2026-11-25");

    // Coverage: one row per village, the overview's figures.
    let (header, rows) = office.csv("coverage", &[]);
    let coverage = records(&header, &rows);
    let overview = office.overview(&[]);
    let villages = overview["villages"].as_array().expect("villages");
    assert_eq!(coverage.len(), villages.len());
    for (row, v) in coverage.iter().zip(villages) {
        assert_eq!(row["Thôn/Bản"], v["village"].as_str().expect("name"));
        assert_eq!(row["Số hộ"], number(&v["households"]));
        assert_eq!(row["Đã tiếp cận"], number(&v["reached"]));
        assert_eq!(row["Chưa thăm"], number(&v["not_visited"]));
        assert_eq!(row["Cần quay lại"], number(&v["follow_up_due"]));
        assert_eq!(row["Đang thực hiện"], number(&v["in_progress"]));
        assert_eq!(row["Đã xong"], number(&v["done"]));
    }

    // Checklists: the runs per pack add up to the overview's.
    let (header, rows) = office.csv("checklists", &[]);
    let runs = records(&header, &rows);
    for p in overview["packs"].as_array().expect("packs") {
        let key = p["pack"].as_str().expect("key");
        let n = runs.iter().filter(|r| r["Gói hướng dẫn"] == pack_title(key)).count();
        assert_eq!(n.to_string(), number(&p["runs"]), "{key}");
    }
    let blocked = runs
        .iter()
        .find(|r| r["Người được hướng dẫn"] == "Lường Văn Mường")
        .expect("Mường's run");
    assert_eq!(blocked["Trạng thái"], "Bị vướng");
    assert_eq!(blocked["Lý do vướng"], "Không có điện thoại thông minh");
    assert_eq!(blocked["Ngày bắt đầu"], "2026-11-23");
}

#[test]
fn exports_filter_by_commune_village_and_local_days() {
    let office = Office::seeded();
    let heads = |what: &str, filter: &[&str], column: &str| -> Vec<String> {
        let (header, rows) = office.csv(what, filter);
        let mut heads: Vec<String> = records(&header, &rows).into_iter().map(|r| r[column].clone()).collect();
        heads.sort();
        heads
    };
    assert_eq!(
        heads("visits", &["--commune", "Muong Lan"], "Chủ hộ"),
        ["Lò Văn Pắn", "Quàng Thị Mường", "Sùng A Tủa"]
    );
    assert_eq!(
        heads(
            "visits",
            &["--commune", "chieng sinh", "--commune", "Muong Lan"],
            "Chủ hộ"
        )
        .len(),
        4
    );
    assert_eq!(
        heads("visits", &["--village", "Bun"], "Chủ hộ"),
        ["Lò Văn Pắn", "Quàng Thị Mường"]
    );
    // Local days: Mường's visit was 2026-11-20 in UTC, 11-21 in Điện Biên.
    assert_eq!(
        heads("visits", &["--from", "2026-11-21", "--to", "2026-11-22"], "Chủ hộ"),
        ["Quàng Thị Mường", "Sùng A Tủa"]
    );
    assert_eq!(heads("visits", &["--to", "2026-11-20"], "Chủ hộ"), ["Lò Văn Pắn"]);
    // Runs by the day they started.
    assert_eq!(
        heads("checklists", &["--from", "2026-11-22"], "Người được hướng dẫn"),
        ["Lường Văn Mường", "Sùng A Tủa"]
    );
    assert_eq!(
        heads("checklists", &["--village", "Bun"], "Người được hướng dẫn"),
        ["Lò Thị Xuân", "Lò Văn Pắn"]
    );
    assert_eq!(heads("coverage", &["--village", "Khin"], "Thôn/Bản"), ["Khin"]);
    // The overview's checklist figures follow the days too: from 11-22 only
    // Tủa's run (not started) and Mường's (blocked) count.
    let days = office.overview(&["--from", "2026-11-22"]);
    let runs: u64 = days["packs"]
        .as_array()
        .expect("packs")
        .iter()
        .map(|p| p["runs"].as_u64().expect("runs"))
        .sum();
    assert_eq!(runs, 2, "{days}");
    assert_eq!(days["blockers"][0]["count"], 1, "{days}");
    assert!(heads("visits", &["--from", "2026-12-01"], "Chủ hộ").is_empty());

    // The workbook of a village and some days: one village sheet.
    let book = office.workbook("workbook", &["--village", "Bun", "--from", "2026-11-21"]);
    assert_eq!(book.names, ["Tổng hợp", "Bun"]);
    let (_, visits) = book.table("Bun", "Ngày thăm");
    assert_eq!(visits.len(), 1, "{visits:?}");
    let (_, filter) = book.table("Tổng hợp", "Bộ lọc");
    assert!(
        filter.contains(&vec!["Thôn/Bản".to_owned(), "Bun".to_owned()]),
        "{filter:?}"
    );
    assert!(
        filter.contains(&vec!["Từ ngày".to_owned(), "2026-11-21".to_owned()]),
        "{filter:?}"
    );
}

#[test]
fn bad_input_exits_2_and_names_the_value() {
    let office = Office::seeded();
    let file = office.path("refused.xlsx");
    for (args, named) in [
        (vec!["export", "visits", "--format", "pdf"], "pdf"),
        (vec!["export", "workbook", "--lang", "fr", "--out", file.as_str()], "fr"),
        (
            vec!["export", "workbook", "--commune", "Nowhere", "--out", file.as_str()],
            "Nowhere",
        ),
        (vec!["export", "visits", "--village", "Atlantis"], "Atlantis"),
        (vec!["export", "visitz"], "visitz"),
        (vec!["export", "visits", "--from", "2026-13-01"], "2026-13-01"),
        (
            vec!["export", "visits", "--from", "2026-11-22", "--to", "2026-11-21"],
            "2026-11-22",
        ),
        (
            vec!["export", "workbook", "--format", "csv", "--out", file.as_str()],
            "csv",
        ),
        (vec!["export", "household", "--commune", "Muong Lan"], "--commune"),
    ] {
        let err = office.refused(&args);
        assert!(err.contains(named), "{args:?}: {err}");
    }
    assert!(!Path::new(&file).exists(), "nothing written");
    // The record exports still work as before.
    let out = office.ok(&["export", "household"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Hà Thị Lan"));
}

/// A built-in pack's Vietnamese title, as the exports name packs.
fn pack_title(key: &str) -> String {
    pack_catalog::bundled_packs()
        .iter()
        .find(|p| p.key == key)
        .map(|p| doorstep_core::pack::Pack::text(&p.title, "vi").to_owned())
        .expect("a built-in pack")
}
