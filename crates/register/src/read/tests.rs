//! The register rules on whole files: good files, broken files, duplicates,
//! and the rule that a file with errors yields nothing unless told to skip.

use chrono::TimeZone;
use doorstep_core::ids::{CommuneId, VillageId};

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 8, 30, 0)
        .single()
        .expect("a valid time")
}

/// The demo's commune Muong Lan, plus Chieng Sinh with a second "Bun".
fn villages() -> Vec<KnownVillage> {
    let (muong_lan, chieng_sinh) = (CommuneId::new(), CommuneId::new());
    let village = |name: &str, commune: &str, commune_id| KnownVillage {
        id: VillageId::new(),
        name: name.into(),
        commune_id,
        commune: commune.into(),
    };
    let mut all: Vec<KnownVillage> = ["Bun", "Ba Nam", "Khin", "Tam Tu", "Hui Long", "Lich Tu"]
        .into_iter()
        .map(|v| village(v, "Muong Lan", muong_lan))
        .collect();
    all.push(village("Na Sai 1", "Chieng Sinh", chieng_sinh));
    all.push(village("Bun", "Chieng Sinh", chieng_sinh));
    all
}

fn read(text: &str, villages: &[KnownVillage], options: &ImportOptions) -> Result<Register, RegisterError> {
    read_register(text.as_bytes(), villages, &[], options, now())
}

fn muong_lan() -> ImportOptions {
    ImportOptions {
        commune: Some("Mường Lạn".into()),
        ..ImportOptions::default()
    }
}

fn problems(err: RegisterError) -> Vec<String> {
    match err {
        RegisterError::BadRows(report) => report.problems.iter().map(ToString::to_string).collect(),
        other => panic!("expected bad rows, got {other}"),
    }
}

fn existing_of(register: &Register) -> Vec<ExistingHousehold> {
    register
        .households
        .iter()
        .map(|r| {
            let h = &r.household;
            ExistingHousehold {
                id: h.id,
                key: HouseholdKey::new(
                    h.village_id,
                    h.head_name.as_str(),
                    h.phone.as_ref().map(Phone::as_str),
                    h.landmark.as_ref().map(Landmark::as_str),
                ),
            }
        })
        .collect()
}

#[test]
fn a_vietnamese_spreadsheet_reads() {
    let all = villages();
    let csv = "\u{feff}Thôn/Bản;Chủ hộ;Số điện thoại;Địa chỉ;Số nhân khẩu;Ngôn ngữ;Ghi chú;Vĩ độ;Kinh độ\n\
               Tam Tú;Lò Văn Pọm;0912 345 678;Cạnh cầu treo;5;blt;;21.3856;103.0170\n\
               Khin;Sùng A Tủa;;Đầu bản;7;hmn;Con trai biết chữ;;\n\
               ;;;;;;;;\n\
               \n";
    let register = read(csv, &all, &muong_lan()).expect("reads");
    let r = &register.report;
    assert_eq!((r.rows, r.skipped, r.imported), (2, 0, 0));
    assert!(r.problems.is_empty() && r.ignored_columns.is_empty(), "{r:?}");
    let [first, second] = register.households.as_slice() else {
        panic!("two households: {:?}", register.households)
    };
    assert_eq!(first.line, 2);
    let h = &first.household;
    assert_eq!(h.village_id, all[3].id, "Tam Tú is Tam Tu");
    assert_eq!(h.head_name.as_str(), "Lò Văn Pọm");
    assert_eq!(h.phone.as_ref().map(Phone::as_str), Some("0912345678"));
    assert_eq!(h.landmark.as_ref().map(Landmark::as_str), Some("Cạnh cầu treo"));
    assert_eq!(h.members_count, Some(5));
    assert_eq!(h.language.as_ref().map(|l| l.as_str().to_owned()), Some("blt".into()));
    assert_eq!(h.notes, None);
    assert_eq!(
        h.location,
        Some(GeoPoint {
            lat_e7: 213_856_000,
            lng_e7: 1_030_170_000
        })
    );
    assert_eq!(h.created_at, now());
    assert_eq!(second.line, 3);
    assert_eq!(second.household.village_id, all[2].id);
    assert_eq!(second.household.location, None);
    assert_ne!(first.household.id, second.household.id);
}

#[test]
fn every_bad_row_is_reported_and_nothing_is_returned() {
    let all = villages();
    let csv = "village,head of household,phone,members,latitude,longitude\n\
               Tam Tu,Lò Văn Hùng,0912345678,4,,\n\
               Atlantis,Lò Văn A,,,,\n\
               Tam Tu,,,,,\n\
               Tam Tu,Lò Văn B,12345,,,\n\
               Tam Tu,Lò Văn C,,many,,\n\
               Tam Tu,Lò Văn D,,,21.3,\n\
               Tam Tu,Lò Văn Hùng,0912345678,4,,\n\
               Tam Tu,Lò Văn E,,0,95,103\n";
    let found = problems(read(csv, &all, &muong_lan()).expect_err("bad rows"));
    let expected = [
        "line 3, column \"village\": no village named \"Atlantis\" (known: Bun, Ba Nam, Khin, Tam Tu, Hui Long, Lich Tu)",
        "line 4, column \"head of household\": is empty",
        "line 5, column \"phone\": phone \"12345\" is not a Vietnamese phone number",
        "line 6, column \"members\": \"many\" is not a number of people from 1 to 60",
        "line 7, column \"longitude\": is empty but latitude is given",
        "line 8: repeats the household on line 2",
        "line 9, column \"members\": \"0\" is not a number of people from 1 to 60",
        "line 9, column \"latitude\": latitude \"95\" is outside -90..90",
    ];
    for (e, f) in expected.iter().zip(&found) {
        assert!(f.starts_with(e), "expected {e:?}, found {f:?}");
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");

    let skip = ImportOptions {
        skip_bad_rows: true,
        ..muong_lan()
    };
    let register = read(csv, &all, &skip).expect("skips");
    let r = &register.report;
    assert_eq!((r.rows, r.skipped, register.households.len()), (8, 7, 1));
    assert_eq!(r.problems.len(), expected.len());
}

#[test]
fn columns_are_named_as_the_file_spells_them() {
    let csv = "Bản,Chủ hộ,SĐT\nTam Tu,,abc\n";
    let found = problems(read(csv, &villages(), &muong_lan()).expect_err("bad"));
    assert_eq!(found[0], "line 2, column \"Chủ hộ\": is empty");
    assert!(
        found[1].starts_with("line 2, column \"SĐT\": phone \"abc\""),
        "{found:?}"
    );
}

#[test]
fn rows_already_on_the_register_are_duplicates() {
    let all = villages();
    let csv = "village,head of household,phone\nKhin,Cà Văn Ơn,0987654321\n";
    let first = read(csv, &all, &muong_lan()).expect("first");
    let existing = existing_of(&first);
    // Spelled differently, the same household.
    let again = "village,head of household,phone\nkhin,CA VAN ON,0987 654 321\nkhin,Ca Van On,0987 654 321\n";
    let err = read_register(again.as_bytes(), &all, &existing, &muong_lan(), now()).expect_err("duplicate");
    let id = first.households[0].household.id;
    assert_eq!(
        problems(err),
        [
            format!("line 2: this household is already on the register (household {id})"),
            format!("line 3: this household is already on the register (household {id})"),
        ]
    );
    // A namesake with another phone is another household.
    let namesake = "village,head of household,phone\nKhin,Cà Văn Ơn,0912345678\n";
    let register = read_register(namesake.as_bytes(), &all, &existing, &muong_lan(), now()).expect("namesake");
    assert_eq!(register.households.len(), 1);
}

#[test]
fn ambiguous_village_names_need_a_commune() {
    let all = villages();
    let csv = "village,head of household\nBun,Lò Văn A\n";
    let found = problems(read(csv, &all, &ImportOptions::default()).expect_err("ambiguous"));
    assert!(found[0].contains("2 villages are named \"Bun\""), "{found:?}");
    let register = read(csv, &all, &muong_lan()).expect("with a commune");
    assert_eq!(register.households[0].household.village_id, all[0].id);
    // A commune column decides per row, and wins over the option.
    let csv = "Xã,Thôn,Chủ hộ\nChiềng Sinh,Bún,Lò Văn A\n,Bún,Lò Văn B\n";
    let register = read(csv, &all, &muong_lan()).expect("commune column");
    let ids: Vec<VillageId> = register.households.iter().map(|r| r.household.village_id).collect();
    assert_eq!(ids, [all[7].id, all[0].id]);
}

#[test]
fn wrong_encodings_and_empty_files_are_refused_whole() {
    let all = villages();
    let latin = b"village,head of household\nTam Tu,L\xf2 V\xe3n H\xf9ng\n";
    let err = read_register(latin, &all, &[], &ImportOptions::default(), now()).expect_err("not utf-8");
    assert!(err.to_string().contains("line 2 is not UTF-8"), "{err}");
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("village,head\n".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let err = read_register(&utf16, &all, &[], &ImportOptions::default(), now()).expect_err("utf-16");
    assert!(err.to_string().contains("UTF-16"), "{err}");
    for empty in ["", "  \n", "\u{feff}\n"] {
        let err = read(empty, &all, &ImportOptions::default()).expect_err("empty");
        assert!(matches!(err, RegisterError::Empty), "{empty:?}: {err}");
    }
    let err = read("name,phone\nA,0912345678\n", &all, &ImportOptions::default()).expect_err("columns");
    assert!(matches!(err, RegisterError::MissingColumns { .. }), "{err}");
}

#[test]
fn rows_with_too_many_fields_or_half_a_location_are_named() {
    let all = villages();
    let found = problems(read("village,head\nTam Tu,Lo Van A,extra\n", &all, &muong_lan()).expect_err("extra"));
    assert_eq!(found, ["line 2: has 3 fields but the header has 2"]);
    let found = problems(read("village,head,lat\nKhin,Lò Văn Hùng,21.1\n", &all, &muong_lan()).expect_err("half"));
    assert_eq!(found, ["line 2, column \"longitude\": is empty but latitude is given"]);
}

#[test]
fn ignored_columns_dry_runs_and_tabs_are_reported() {
    let csv = "Thôn\tChủ hộ\tNăm sinh\tCCCD\nKhin\tSùng A Tủa\t1970\t0123\n";
    let options = ImportOptions {
        dry_run: true,
        ..muong_lan()
    };
    let register = read(csv, &villages(), &options).expect("reads");
    assert_eq!(register.report.ignored_columns, ["Năm sinh", "CCCD"]);
    assert!(register.report.dry_run);
    assert_eq!(register.households.len(), 1);
}

#[test]
fn quoted_cells_keep_their_delimiters_and_line_numbers_count_physical_lines() {
    let csv = "village,head of household,notes\n\
               Khin,\"Sùng A Tủa\",\"Nhà thứ hai, sau trường\nđi bộ 10 phút\"\n\
               Khin,,x\n";
    let found = problems(read(csv, &villages(), &muong_lan()).expect_err("bad"));
    assert_eq!(found, ["line 4, column \"head of household\": is empty"]);
}

#[test]
fn a_ten_thousand_row_register_reads_in_one_go() {
    let all = villages();
    let names = ["Bun", "Ba Nam", "Khin", "Tam Tu", "Hui Long", "Lich Tu"];
    let mut csv = String::from("village,commune,head of household,phone,members\n");
    for i in 0..10_000 {
        csv.push_str(&format!(
            "{},Muong Lan,Lò Văn {i}x,09{i:08},{}\n",
            names[i % names.len()],
            i % 9 + 1
        ));
    }
    let register = read(&csv, &all, &ImportOptions::default()).expect("reads");
    assert_eq!(register.households.len(), 10_000);
    // Read again against what the first read produced: every row is there.
    let existing = existing_of(&register);
    let options = ImportOptions {
        skip_bad_rows: true,
        ..ImportOptions::default()
    };
    let again = read_register(csv.as_bytes(), &all, &existing, &options, now()).expect("skips");
    assert_eq!((again.report.skipped, again.households.len()), (10_000, 0));
}
