//! Importing a household register from CSV: good files, broken files, and
//! the rule that a file with errors imports nothing unless told to skip.

mod common;

use common::TempStore;
use doorstep_device::import::{ImportError, ImportOptions, RegisterError};

fn import(
    t: &mut TempStore,
    text: &[u8],
    options: &ImportOptions,
) -> Result<doorstep_device::import::ImportReport, ImportError> {
    t.store.import_households(text, options)
}

fn households(t: &TempStore) -> u64 {
    t.store.status().expect("status").households
}

#[test]
fn a_vietnamese_spreadsheet_imports() {
    let mut t = TempStore::with_demo();
    let before = households(&t);
    let csv = "\u{feff}Thôn/Bản;Chủ hộ;Số điện thoại;Địa chỉ;Số nhân khẩu;Ngôn ngữ;Ghi chú\n\
               Tam Tú;Lò Văn Pọm;0912 345 678;Cạnh cầu treo;5;blt;\n\
               Khin;Sùng A Tủa;;Đầu bản;7;hmn;Con trai biết chữ\n\
               \n";
    let report = import(&mut t, csv.as_bytes(), &ImportOptions::default()).expect("imports");
    assert_eq!((report.rows, report.imported, report.skipped), (2, 2, 0));
    assert_eq!(households(&t), before + 2);
    let outbox = t.store.status().expect("status").outbox_total;
    assert!(outbox >= before + 2, "each household went through the outbox");
}

#[test]
fn every_bad_row_is_reported_and_nothing_is_imported() {
    let mut t = TempStore::with_demo();
    let before = t.store.state_digest().expect("digest");
    let csv = "village,head of household,phone,members,latitude,longitude\n\
               Tam Tu,Lò Văn Hùng,0912345678,4,,\n\
               Atlantis,Lò Văn A,,,,\n\
               Tam Tu,,,,,\n\
               Tam Tu,Lò Văn B,12345,,,\n\
               Tam Tu,Lò Văn C,,many,,\n\
               Tam Tu,Lò Văn D,,,21.3,\n\
               Tam Tu,Lò Văn Hùng,0912345678,4,,\n";
    let err = import(&mut t, csv.as_bytes(), &ImportOptions::default()).expect_err("bad rows");
    let ImportError::Register(RegisterError::BadRows(report)) = &err else {
        panic!("{err}")
    };
    let found: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    let expected = [
        "line 3, column \"village\": no village named \"Atlantis\"",
        "line 4, column \"head of household\": is empty",
        "line 5, column \"phone\": phone \"12345\" is not a Vietnamese phone number",
        "line 6, column \"members\": \"many\" is not a number",
        "line 7, column \"longitude\": is empty but latitude is given",
        "line 8: repeats the household on line 2",
    ];
    for e in expected {
        assert!(found.iter().any(|f| f.starts_with(e)), "missing {e:?} in {found:#?}");
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    assert!(err.to_string().contains("nothing was imported"), "{err}");
    assert_eq!(t.store.state_digest().expect("digest"), before, "nothing changed");

    let options = ImportOptions {
        skip_bad_rows: true,
        ..ImportOptions::default()
    };
    let report = import(&mut t, csv.as_bytes(), &options).expect("skips");
    assert_eq!((report.rows, report.imported, report.skipped), (7, 1, 6));
}

#[test]
fn importing_the_same_file_twice_finds_the_duplicates() {
    let mut t = TempStore::with_demo();
    let csv = "village,head of household,phone\nBun,Cà Văn Ơn,0987654321\n";
    import(&mut t, csv.as_bytes(), &ImportOptions::default()).expect("first");
    let err = import(&mut t, csv.as_bytes(), &ImportOptions::default()).expect_err("second");
    assert!(format!("{:?}", err).contains("already on the register"), "{err:?}");
}

#[test]
fn wrong_encodings_are_named() {
    let mut t = TempStore::with_demo();
    let before = t.store.state_digest().expect("digest");
    // "Lò" in Windows-1258 is not UTF-8.
    let latin = b"village,head of household\nTam Tu,L\xf2 V\xe3n H\xf9ng\n";
    let err = import(&mut t, latin, &ImportOptions::default()).expect_err("not utf-8");
    assert!(err.to_string().contains("line 2 is not UTF-8"), "{err}");
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("village,head\n".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let err = import(&mut t, &utf16, &ImportOptions::default()).expect_err("utf-16");
    assert!(err.to_string().contains("UTF-16"), "{err}");
    assert_eq!(t.store.state_digest().expect("digest"), before);
}

#[test]
fn missing_columns_and_empty_files_are_named() {
    let mut t = TempStore::with_demo();
    let err = import(&mut t, b"name,phone\nA,0912345678\n", &ImportOptions::default()).expect_err("columns");
    let text = err.to_string();
    assert!(
        text.contains("no village or head of household column") && text.contains("\"name\""),
        "{text}"
    );
    let err = import(&mut t, b"  \n", &ImportOptions::default()).expect_err("empty");
    assert!(matches!(err, ImportError::Register(RegisterError::Empty)));
}

#[test]
fn a_row_with_too_many_fields_is_named() {
    let mut t = TempStore::with_demo();
    let err = import(
        &mut t,
        b"village,head\nTam Tu,Lo Van A,extra\n",
        &ImportOptions::default(),
    )
    .expect_err("extra");
    let ImportError::Register(RegisterError::BadRows(report)) = err else {
        panic!("expected bad rows")
    };
    assert!(
        report.problems[0]
            .to_string()
            .contains("has 3 fields but the header has 2"),
        "{:?}",
        report.problems
    );
}

#[test]
fn a_ten_thousand_row_register_imports_in_one_go() {
    let mut t = TempStore::with_demo();
    let villages = ["Bun", "Ba Nam", "Khin", "Tam Tu", "Hui Long", "Lich Tu"];
    let mut csv = String::from("village,commune,head of household,phone,members\n");
    for i in 0..10_000 {
        csv.push_str(&format!(
            "{},Muong Lan,Lò Văn {i}x,09{:08},{}\n",
            villages[i % villages.len()],
            i,
            i % 9 + 1
        ));
    }
    let before = households(&t);
    let report = import(&mut t, csv.as_bytes(), &ImportOptions::default()).expect("imports");
    assert_eq!(report.imported, 10_000);
    assert_eq!(households(&t), before + 10_000);
    // A dry run of the same file finds every row already there, writes nothing.
    let options = ImportOptions {
        dry_run: true,
        skip_bad_rows: true,
        ..ImportOptions::default()
    };
    let digest = t.store.state_digest().expect("digest");
    let report = import(&mut t, csv.as_bytes(), &options).expect("dry run");
    assert_eq!(report.skipped, 10_000);
    assert_eq!(t.store.state_digest().expect("digest"), digest);
}

#[test]
fn ambiguous_village_names_need_a_commune() {
    let mut t = TempStore::with_demo();
    // Add a second "Bun" in the other commune.
    let commune = t
        .store
        .villages()
        .expect("villages")
        .into_iter()
        .find(|v| v.commune == "Chieng Sinh")
        .expect("commune");
    let village = doorstep_core::entities::Village {
        id: Default::default(),
        commune_id: commune.commune_id.parse().expect("id"),
        name: doorstep_core::text::PlaceName::parse("Bun").expect("name"),
    };
    t.store.insert(&village).expect("village");
    let csv = "village,head of household\nBun,Lò Văn A\n";
    let err = import(&mut t, csv.as_bytes(), &ImportOptions::default()).expect_err("ambiguous");
    assert!(format!("{err:?}").contains("2 villages are named"), "{err:?}");
    let options = ImportOptions {
        commune: Some("Muong Lan".into()),
        ..ImportOptions::default()
    };
    import(&mut t, csv.as_bytes(), &options).expect("with commune");
}

#[test]
fn a_latitude_without_a_longitude_column_is_a_row_problem_not_a_crash() {
    let mut t = TempStore::with_demo();
    let err = import(
        &mut t,
        "village,head,lat\nKhin,Lò Văn Hùng,21.1\n".as_bytes(),
        &ImportOptions::default(),
    )
    .expect_err("half a location");
    let ImportError::Register(RegisterError::BadRows(report)) = err else {
        panic!("expected bad rows")
    };
    assert_eq!(
        report.problems[0].to_string(),
        "line 2, column \"longitude\": is empty but latitude is given"
    );
}
