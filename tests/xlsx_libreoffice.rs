//! The commune workbook opens in LibreOffice: `doorstep-server export
//! workbook` from a server with real visits, rendered by `soffice --headless
//! --convert-to pdf` and read back with `pdftotext`. What a commune office
//! does with the file, checked: every sheet renders, the Vietnamese text is
//! intact, and the figures are there.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use doorstep_e2e::app::tool;
use doorstep_e2e::{Server, Tablet, admin, campaign, code, visit_new_household};

#[test]
fn the_commune_workbook_renders_in_libreoffice_with_vietnamese_intact() {
    let soffice = tool("soffice", "apt-get install libreoffice-calc-nogui");
    let pdftotext = tool("pdftotext", "apt-get install poppler-utils");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let places = campaign(&db);
    let server = Server::start(&db);
    let mut tablet = Tablet::enrol(&server.url, &code(&db, &places.member, "Muong Lan"));
    tablet.sync(&server.url);
    let bun = &places.communes[0].1[0];
    for head in ["Lò Văn Pắn", "Quàng Thị Mường", "Sùng A Tủa"] {
        visit_new_household(&mut tablet.store, bun, head);
    }
    tablet.sync(&server.url);

    let xlsx = dir.path().join("Mường Lạn.xlsx");
    admin(
        &db,
        &[
            "export",
            "workbook",
            "--commune",
            "Muong Lan",
            "--out",
            xlsx.to_str().unwrap(),
        ],
    );

    // Its own profile directory, so a test never touches the user's and two
    // runs never share one.
    let profile = dir.path().join("lo-profile");
    let out = Command::new(soffice)
        .arg(format!("-env:UserInstallation=file://{}", profile.display()))
        .args(["--headless", "--norestore", "--convert-to", "pdf", "--outdir"])
        .arg(dir.path())
        .arg(&xlsx)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let pdf = dir.path().join("Mường Lạn.pdf");
    assert!(
        pdf.is_file(),
        "LibreOffice made no PDF: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = Command::new(pdftotext).arg(&pdf).arg("-").output().unwrap();
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    for words in [
        // The summary sheet: the commune and its coverage headers.
        "Muong Lan",
        "Số hộ",
        "Đã tiếp cận",
        // Bun's sheet: the households visited, diacritics and all.
        "Lò Văn Pắn",
        "Quàng Thị Mường",
        "Sùng A Tủa",
    ] {
        assert!(
            text.contains(words),
            "{words:?} is not in the rendered workbook:\n{text}"
        );
    }
    assert!(!text.contains('\u{FFFD}'), "no replacement characters:\n{text}");
}
