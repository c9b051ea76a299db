//! The team-lead dashboard over HTTP, against the real server binary:
//! sign-in (password, CSRF, rate limit), access by commune, every page,
//! the figures on the overview against `report overview --json`, exports,
//! revoking a tablet, and signing out.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use doorstep_e2e::{Server, Tablet, admin, bin, code, db_arg, visit_new_household};
use reqwest::blocking::{Client, Response};
use reqwest::redirect::Policy;
use serde_json::Value;

const PASSWORD: &str = "núi-cao-2026";

fn set_password(db: &Path, member: &str, password: &str) -> std::process::Output {
    let mut child = Command::new(bin("doorstep-server"))
        .arg("--db")
        .arg(db_arg(db))
        .args(["member", "set-password", "--member", member])
        .env("DOORSTEP_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

/// A browser: cookies kept by hand, redirects not followed.
struct Browser {
    http: Client,
    url: String,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    fn new(url: &str) -> Browser {
        Browser {
            http: Client::builder().redirect(Policy::none()).build().unwrap(),
            url: url.to_owned(),
            cookies: BTreeMap::new(),
        }
    }

    fn keep(&mut self, r: &Response) {
        for v in r.headers().get_all("set-cookie") {
            let text = v.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn get(&mut self, path: &str) -> Response {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .header("cookie", self.cookie_header())
            .send()
            .unwrap();
        self.keep(&r);
        r
    }

    fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Response {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .unwrap();
        self.keep(&r);
        r
    }

    fn text(&mut self, path: &str) -> String {
        let r = self.get(path);
        assert_eq!(r.status(), 200, "{path}");
        r.text().unwrap()
    }

    /// The CSRF token of the forms on a page.
    fn csrf(page: &str) -> String {
        page.split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .to_owned()
    }

    fn sign_in(&mut self, name: &str, password: &str) -> Response {
        let form = self.text("/login");
        let csrf = Browser::csrf(&form);
        self.post("/login", &[("name", name), ("password", password), ("csrf", &csrf)])
    }
}

fn location(r: &Response) -> String {
    r.headers().get("location").unwrap().to_str().unwrap().to_owned()
}

/// The one-time code a code page shows.
fn shown_code(page: &str) -> String {
    page.split("<p class=\"code\"")
        .nth(1)
        .and_then(|p| p.split('>').nth(1))
        .and_then(|p| p.split('<').next())
        .unwrap()
        .to_owned()
}

fn commune_id(db: &Path, name: &str) -> String {
    let out = admin(db, &["--json", "report", "overview", "--commune", name]);
    let v: Value = serde_json::from_str(&out).unwrap();
    v["villages"][0]["commune_id"].as_str().unwrap().to_owned()
}

#[test]
fn a_lead_signs_in_sees_their_commune_only_and_every_page_works() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    admin(&db, &["campaign", "create", "--demo"]);
    // A volunteer's password is refused: only leads and admins sign in.
    let refused = set_password(&db, "Quàng Thị Hoa", PASSWORD);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let short = set_password(&db, "Lò Văn Thành", "ngắn");
    assert_eq!(short.status.code(), Some(2));
    let ok = set_password(&db, "Lò Văn Thành", PASSWORD);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let server = Server::start(&db);
    let muong_lan = commune_id(&db, "Muong Lan");
    let chieng_sinh = commune_id(&db, "Chieng Sinh");

    // Field work in both communes.
    let tam_tu = {
        let v: Value =
            serde_json::from_str(&admin(&db, &["--json", "report", "overview", "--commune", "Muong Lan"])).unwrap();
        v["villages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["village"] == "Tam Tu")
            .unwrap()["village_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let mut a = Tablet::enrol(&server.url, &code(&db, "Quàng Thị Hoa", "Muong Lan"));
    a.sync(&server.url);
    visit_new_household(&mut a.store, &tam_tu, "Lò Văn Pắn");
    // Nobody was home at a second house: it goes on the walking list.
    let empty = visit_new_household(&mut a.store, &tam_tu, "Cà Văn Pọm");
    let device = a.store.device_id();
    let started_at = a.store.now();
    a.store
        .insert(&doorstep_core::entities::Visit {
            id: doorstep_core::ids::VisitId::new(),
            household_id: empty,
            member_id: None,
            device_id: device,
            started_at,
            ended_at: None,
            outcome: doorstep_core::vocab::VisitOutcome::NobodyHome,
            follow_up_on: None,
            notes: None,
            referred_by: None,
        })
        .unwrap();
    a.sync(&server.url);
    let _b = Tablet::enrol(&server.url, &code(&db, "Lò Thị Nga", "Chieng Sinh"));

    let mut browser = Browser::new(&server.url);
    // No session: every page sends to the sign-in form.
    for page in [
        "/overview",
        "/follow-ups",
        "/peer-spread",
        "/devices",
        "/exports",
        "/exports/download?what=workbook",
    ] {
        let r = browser.get(page);
        assert_eq!(r.status(), 303, "{page}");
        assert_eq!(location(&r), "/login", "{page}");
    }
    // A sign-in without the form's CSRF cookie is refused.
    let r = Browser::new(&server.url).post(
        "/login",
        &[("name", "Lò Văn Thành"), ("password", PASSWORD), ("csrf", "x")],
    );
    assert_eq!(r.status(), 403);
    // A wrong password.
    let r = browser.sign_in("Lò Văn Thành", "sai-mat-khau-123");
    assert_eq!(r.status(), 401);
    assert!(r.text().unwrap().contains("Sai họ tên hoặc mật khẩu"));
    // The right one, typed without diacritics.
    let r = browser.sign_in("lo van thanh", PASSWORD);
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/overview");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    let session = cookie.iter().find(|c| c.starts_with("doorstep_session=")).unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Max-Age=43200", "Path=/"] {
        assert!(session.contains(attribute), "{session}");
    }

    // The overview shows the commune's figures, as the report computes them.
    let page = browser.text("/overview");
    let report: Value =
        serde_json::from_str(&admin(&db, &["--json", "report", "overview", "--commune", "Muong Lan"])).unwrap();
    let total: u64 = report["villages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["households"].as_u64().unwrap())
        .sum();
    assert!(
        page.contains(&format!("<td class=\"num\">{total}</td>")),
        "Muong Lan has {total} households"
    );
    assert!(page.contains("Xã: Muong Lan"), "the scope is named");
    assert!(
        !page.contains("Na Sai"),
        "no village of Chieng Sinh on a Muong Lan lead's page"
    );
    assert_eq!(page.matches("<svg").count(), 5, "five charts");
    assert!(page.contains("VNeID"), "the checklist's title, not its key");
    assert!(page.contains("(không ghi tên)"), "a visit that names no volunteer");
    // In English.
    let page = browser.text("/overview?lang=en");
    assert!(page.contains("Where the campaign stands") && page.contains("lang=\"en\""));
    assert!(
        browser.text("/overview").contains("Households reached"),
        "the language is remembered"
    );
    browser.text("/overview?lang=vi");

    // Another commune's data: 403.
    let r = browser.get(&format!("/overview?commune={chieng_sinh}"));
    assert_eq!(r.status(), 403);
    let r = browser.get(&format!("/exports/download?what=workbook&commune={chieng_sinh}"));
    assert_eq!(r.status(), 403);
    assert_eq!(browser.get(&format!("/overview?commune={muong_lan}")).status(), 200);

    // The walking list, peer spread, tablets and exports pages.
    let walk = browser.text("/follow-ups");
    assert!(
        walk.contains("Muong Lan / Tam Tu") && !walk.contains("Na Sai"),
        "walking list by village"
    );
    assert!(
        walk.contains("Cà Văn Pọm") && walk.contains("không có ai ở nhà"),
        "{walk}"
    );
    assert!(
        !walk.contains("Lò Văn Pắn"),
        "a household in progress is not on the list"
    );
    assert!(browser.text("/peer-spread").contains("Người dân hướng dẫn người dân"));
    let devices = browser.text("/devices");
    assert_eq!(
        devices.matches("action=\"/devices/revoke\"").count(),
        2,
        "only Muong Lan's tablet: revoke, and revoke and erase"
    );
    assert!(devices.contains("Thu hồi và xóa"), "{devices}");
    assert!(browser.text("/exports").contains("/exports/download"));
    let xlsx = browser.get("/exports/download?what=workbook");
    assert_eq!(xlsx.status(), 200);
    assert!(
        xlsx.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .ends_with(".xlsx\"")
    );
    assert!(xlsx.bytes().unwrap().starts_with(b"PK"), "a zip file: XLSX");
    let csv = browser.get("/exports/download?what=visits");
    assert_eq!(csv.status(), 200);
    let csv = csv.bytes().unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBF"), "CSV with a BOM");
    assert!(String::from_utf8_lossy(&csv).contains("Lò Văn Pắn"));
    assert_eq!(browser.get("/exports/download?what=passwords").status(), 400);
    assert_eq!(browser.get("/overview?from=yesterday").status(), 400);

    // A code for a new tablet, shown once with its QR code, enrols it.
    let member = devices
        .split("<option value=\"")
        .skip(1)
        .find(|o| o.contains(">Cà Văn Dũng<"))
        .and_then(|o| o.split('"').next())
        .unwrap()
        .to_owned();
    let csrf = Browser::csrf(&devices);
    let r = browser.post(
        "/devices/code",
        &[("csrf", &csrf), ("member", &member), ("commune", &chieng_sinh)],
    );
    assert_eq!(r.status(), 403, "not in another commune");
    let r = browser.post(
        "/devices/code",
        &[("csrf", &csrf), ("member", &member), ("commune", &muong_lan)],
    );
    assert_eq!(r.status(), 200);
    let page = r.text().unwrap();
    assert!(page.contains("<svg"), "a QR code");
    let code = shown_code(&page);
    assert_eq!(code.len(), 11, "{code}");
    assert!(!page.contains("(UTC)"), "the expiry in local time");
    let pending = |b: &mut Browser| b.text("/devices").matches("name=\"code\" value=\"").count();
    assert_eq!(pending(&mut browser), 1, "the new code waits on the devices page");
    let _c = Tablet::enrol(&server.url, &code);
    assert_eq!(pending(&mut browser), 0, "a used code is no longer pending");

    // A code made by mistake is cancelled and then enrols nothing.
    let r = browser.post(
        "/devices/code",
        &[("csrf", &csrf), ("member", &member), ("commune", &muong_lan)],
    );
    let page = r.text().unwrap();
    let lost = shown_code(&page);
    let listed = browser.text("/devices");
    let hash = listed
        .split("name=\"code\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    assert!(listed.contains("Cà Văn Dũng"), "pending codes name their member");
    assert_eq!(
        browser
            .post("/devices/code/cancel", &[("csrf", "x"), ("code", &hash)])
            .status(),
        403
    );
    assert_eq!(
        browser
            .post("/devices/code/cancel", &[("csrf", &csrf), ("code", &hash)])
            .status(),
        303
    );
    assert_eq!(pending(&mut browser), 0);
    assert_eq!(
        browser
            .post("/devices/code/cancel", &[("csrf", &csrf), ("code", &hash)])
            .status(),
        404,
        "once"
    );
    let refused = {
        let dir = tempfile::tempdir().unwrap();
        let mut store =
            doorstep_device::Store::create(&dir.path().join("t.db"), doorstep_device::CreateOptions::default())
                .unwrap();
        doorstep_device::sync::enroll(&mut store, &server.url, &lost, None, &doorstep_e2e::quick())
    };
    assert!(refused.is_err(), "a cancelled code enrols nothing");

    // Revoking: a form without the session's token is refused; with it,
    // the tablet's token stops working.
    let csrf = Browser::csrf(&devices);
    let device = devices
        .split("name=\"device\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let r = browser.post("/devices/revoke", &[("csrf", "not-the-token"), ("device", &device)]);
    assert_eq!(r.status(), 403);
    let r = browser.post("/devices/revoke", &[("csrf", &csrf), ("device", &device)]);
    assert_eq!(r.status(), 303);
    assert!(
        a.try_sync(&server.url, &doorstep_e2e::quick()).is_err(),
        "the revoked tablet cannot sync"
    );
    let devices = browser.text("/devices");
    assert!(
        devices.contains("Đã thu hồi") && devices.contains("dữ liệu vẫn còn trên máy"),
        "{devices}"
    );

    // A plain revoke can still become an erase (the tablet turned out
    // stolen): the tablet is told at its next contact, and the page says
    // the erase waits for it.
    assert!(devices.contains("Xóa dữ liệu trên máy"), "{devices}");
    let r = browser.post(
        "/devices/revoke",
        &[("csrf", &csrf), ("device", &device), ("erase", "1")],
    );
    assert_eq!(r.status(), 303);
    let devices = browser.text("/devices");
    assert!(devices.contains("đã yêu cầu xóa"), "{devices}");
    assert!(!devices.contains("Xóa dữ liệu trên máy"), "asked once");
    match a.try_sync(&server.url, &doorstep_e2e::quick()) {
        Err(doorstep_device::sync::SyncError::EraseOrdered) => {}
        other => panic!("the tablet must be told to erase, got {other:?}"),
    }

    // Members: the lead's commune's members, and a new volunteer for one of
    // its villages (not for another commune's).
    let members = browser.text("/members");
    assert!(
        members.contains("Quàng Thị Hoa") && !members.contains("Lò Thị Nga"),
        "Muong Lan's members only"
    );
    let village = |page: &str, name: &str| {
        page.split("<option value=\"")
            .skip(1)
            .find(|o| o.contains(name))
            .and_then(|o| o.split('"').next())
            .unwrap()
            .to_owned()
    };
    let bun = village(&members, "Muong Lan / Bun");
    let csrf = Browser::csrf(&members);
    let other_village = {
        let v: Value = serde_json::from_str(&admin(
            &db,
            &["--json", "report", "overview", "--commune", "Chieng Sinh"],
        ))
        .unwrap();
        v["villages"][0]["village_id"].as_str().unwrap().to_owned()
    };
    for (village, status) in [(other_village.as_str(), 403), (bun.as_str(), 303)] {
        let form = [
            ("csrf", csrf.as_str()),
            ("name", "Tòng Văn Mới"),
            ("role", "volunteer"),
            ("unit", "youth_union"),
            ("village", village),
        ];
        assert_eq!(browser.post("/members/add", &form).status(), status, "{village}");
    }
    assert!(browser.text("/members").contains("Tòng Văn Mới"));
    assert!(
        admin(&db, &["member", "list"]).contains("Tòng Văn Mới"),
        "the same member as the admin command's"
    );

    // Signing out needs the token too, then the session is gone.
    assert_eq!(browser.post("/logout", &[("csrf", "x")]).status(), 403);
    let r = browser.post("/logout", &[("csrf", &csrf)]);
    assert_eq!(r.status(), 303);
    assert_eq!(location(&browser.get("/overview")), "/login");
}

#[test]
fn sign_in_attempts_are_limited_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    admin(&db, &["campaign", "create", "--demo"]);
    assert!(set_password(&db, "Lò Văn Thành", PASSWORD).status.success());
    let server = Server::start(&db);
    let mut browser = Browser::new(&server.url);
    for _ in 0..10 {
        assert_eq!(browser.sign_in("Lò Văn Thành", "sai-mat-khau-123").status(), 401);
    }
    let r = browser.sign_in("Lò Văn Thành", PASSWORD);
    assert_eq!(
        r.status(),
        429,
        "even the right password waits once the limit is reached"
    );
    assert!(r.text().unwrap().contains("Chờ mười phút"));
}

#[test]
fn a_lead_settles_a_conflict_and_every_tablet_gets_the_pick() {
    use doorstep_core::entities::{Household, Patch};
    use doorstep_core::phone::Phone;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    admin(&db, &["campaign", "create", "--demo"]);
    assert!(set_password(&db, "Lò Văn Thành", PASSWORD).status.success());
    assert!(set_password(&db, "Lò Thị Nga", PASSWORD).status.success());
    let server = Server::start(&db);
    let report: Value =
        serde_json::from_str(&admin(&db, &["--json", "report", "overview", "--commune", "Muong Lan"])).unwrap();
    let bun = report["villages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["village"] == "Bun")
        .unwrap()["village_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut a = Tablet::enrol(&server.url, &code(&db, "Quàng Thị Hoa", "Muong Lan"));
    let mut b = Tablet::enrol(&server.url, &code(&db, "Cà Văn Dũng", "Muong Lan"));
    a.sync(&server.url);
    let shared = visit_new_household(&mut a.store, &bun, "Lò Văn Pắn");
    a.sync(&server.url);
    b.sync(&server.url);
    // Offline, both tablets correct the household's phone.
    for (t, phone) in [(&mut a, "0912345678"), (&mut b, "0987654321")] {
        t.store
            .update::<Household>(
                shared.as_uuid(),
                Patch::<Household>::new().phone(Some(Phone::parse(phone).unwrap())),
            )
            .unwrap();
    }
    a.sync(&server.url);
    b.sync(&server.url);
    a.sync(&server.url);
    assert_eq!(a.store.conflicts().unwrap().len(), 1, "the conflict is on the tablets");

    // Another commune's lead sees no conflict; Muong Lan's lead sees both values.
    let mut other = Browser::new(&server.url);
    assert_eq!(other.sign_in("Lò Thị Nga", PASSWORD).status(), 303);
    assert!(other.text("/conflicts").contains("Không có xung đột nào"));
    let mut lead = Browser::new(&server.url);
    assert_eq!(lead.sign_in("Lò Văn Thành", PASSWORD).status(), 303);
    let page = lead.text("/conflicts");
    assert!(page.contains("0912345678") && page.contains("0987654321"), "{page}");
    // In the lead's words: what was edited, by whom, in local time.
    assert!(page.contains("Hộ gia đình · Số điện thoại"), "{page}");
    assert!(
        page.contains("Quàng Thị Hoa") && page.contains("Cà Văn Dũng"),
        "who wrote each value"
    );
    assert!(!page.contains("Z</span>") && !page.contains("(household)"), "{page}");
    // The lead keeps the value shown second (the one that lost).
    let versions: Vec<String> = page
        .split("name=\"version\" value=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect();
    assert_eq!(versions.len(), 2);
    let entity = page
        .split("name=\"entity\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let shown_second = if page.find("0912345678") < page.find("0987654321") {
        "0987654321"
    } else {
        "0912345678"
    };
    let csrf = Browser::csrf(&page);
    // The other commune's lead cannot settle it.
    let other_csrf = Browser::csrf(&other.text("/conflicts"));
    let r = other.post(
        "/conflicts/resolve",
        &[
            ("csrf", &other_csrf),
            ("entity", &entity),
            ("field", "phone"),
            ("version", &versions[1]),
        ],
    );
    assert_eq!(r.status(), 403);
    // Without the token: refused; with it: settled.
    let r = lead.post(
        "/conflicts/resolve",
        &[
            ("csrf", "x"),
            ("entity", &entity),
            ("field", "phone"),
            ("version", &versions[1]),
        ],
    );
    assert_eq!(r.status(), 403);
    let r = lead.post(
        "/conflicts/resolve",
        &[
            ("csrf", &csrf),
            ("entity", &entity),
            ("field", "phone"),
            ("version", &versions[1]),
        ],
    );
    assert_eq!(r.status(), 303);
    assert!(lead.text("/conflicts").contains("Không có xung đột nào"));
    // A stale pick (the conflict is gone) says so.
    let r = lead.post(
        "/conflicts/resolve",
        &[
            ("csrf", &csrf),
            ("entity", &entity),
            ("field", "phone"),
            ("version", &versions[1]),
        ],
    );
    assert_eq!(r.status(), 409);

    // Both tablets get the pick and close the conflict.
    for t in [&mut a, &mut b] {
        t.sync(&server.url);
        assert!(
            t.store.conflicts().unwrap().is_empty(),
            "the conflict is closed on the tablet"
        );
        let h = t.store.household(shared).unwrap();
        assert_eq!(h.phone.as_deref(), Some(shown_second));
    }
}

#[test]
fn campaigns_and_passwords_are_managed_from_the_browser() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    admin(&db, &["campaign", "create", "--demo"]);
    admin(
        &db,
        &[
            "member",
            "add",
            "--name",
            "Nguyễn Văn Quản",
            "--role",
            "admin",
            "--unit",
            "other",
        ],
    );
    assert!(set_password(&db, "Lò Văn Thành", PASSWORD).status.success());
    assert!(set_password(&db, "Nguyễn Văn Quản", PASSWORD).status.success());
    let server = Server::start(&db);

    // Behind a TLS proxy the cookies are Secure; on the LAN they cannot be.
    let login = |proto: Option<&str>| {
        let mut request = Client::new().get(format!("{}/login", server.url));
        if let Some(p) = proto {
            request = request.header("x-forwarded-proto", p);
        }
        let r = request.send().unwrap();
        r.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned()
    };
    assert!(login(Some("https")).contains("Secure"));
    assert!(!login(None).contains("Secure"));

    // A lead sees their campaign and commune only, and cannot start one.
    let mut lead = Browser::new(&server.url);
    assert_eq!(lead.sign_in("Lò Văn Thành", PASSWORD).status(), 303);
    let page = lead.text("/campaigns");
    assert!(page.contains("Muong Lan") && page.contains("Tam Tu"), "{page}");
    assert!(!page.contains("Chieng Sinh"), "another commune's villages stay hidden");
    assert!(page.contains("VNeID – Định danh điện tử"), "packs by their titles");
    assert!(!page.contains("/campaigns/create"), "no form for a lead");
    let csrf = Browser::csrf(&page);
    let new_campaign = [
        ("csrf", csrf.as_str()),
        ("name", "Chiến dịch Mường Nhé 2027"),
        ("starts_on", "2027-01-05"),
        ("ends_on", ""),
        ("province", "Điện Biên"),
        ("communes", "Mường Nhé=Nậm Là, Nậm Kè\r\nChung Chải=Mường Nhé Mới"),
        ("pack", "vneid"),
        ("pack", "vssid"),
    ];
    assert_eq!(lead.post("/campaigns/create", &new_campaign).status(), 403);

    // The lead adds a lead for one of their villages and gives them a
    // password; another commune's lead's password is not theirs to set.
    let members = lead.text("/members");
    assert!(!members.contains("value=\"admin\""), "a lead cannot make admins");
    let bun = members
        .split("<option value=\"")
        .skip(1)
        .find(|o| o.contains("Muong Lan / Bun"))
        .and_then(|o| o.split('"').next())
        .unwrap()
        .to_owned();
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Tòng Văn Mới"),
        ("role", "lead"),
        ("unit", "youth_union"),
        ("village", bun.as_str()),
        ("phone", "0912 345 678"),
    ];
    assert_eq!(lead.post("/members/add", &form).status(), 303);
    let members = lead.text("/members");
    let id_of = |page: &str, name: &str| {
        page.split("id=\"pw-member\"")
            .nth(1)
            .and_then(|select| select.split("<option value=\"").skip(1).find(|o| o.contains(name)))
            .and_then(|o| o.split('"').next())
            .map(str::to_owned)
    };
    let new_lead = id_of(&members, "Tòng Văn Mới").expect("the new lead's password can be set");
    assert_eq!(id_of(&members, "Lò Thị Nga"), None, "not another commune's lead");
    let nga = {
        let out = admin(&db, &["--json", "member", "list"]);
        let list: Value = serde_json::from_str(&out).unwrap();
        list.as_array()
            .unwrap()
            .iter()
            .find(|m| m.to_string().contains("Lò Thị Nga"))
            .and_then(|m| m["id"].as_str().or_else(|| m["member_id"].as_str()))
            .unwrap()
            .to_owned()
    };
    let set = |b: &mut Browser, member: &str, password: &str, repeat: &str| {
        b.post(
            "/members/password",
            &[
                ("csrf", &csrf),
                ("member", member),
                ("password", password),
                ("repeat", repeat),
            ],
        )
        .status()
    };
    assert_eq!(set(&mut lead, &nga, "mật-khẩu-mới-2027", "mật-khẩu-mới-2027"), 403);
    assert_eq!(set(&mut lead, &new_lead, "mật-khẩu-mới-2027", "khác-hẳn-2027"), 400);
    assert_eq!(set(&mut lead, &new_lead, "ngắn", "ngắn"), 400);
    assert_eq!(set(&mut lead, &new_lead, "mật-khẩu-mới-2027", "mật-khẩu-mới-2027"), 200);
    let mut newcomer = Browser::new(&server.url);
    assert_eq!(newcomer.sign_in("Tòng Văn Mới", "mật-khẩu-mới-2027").status(), 303);

    // Changing one's own password needs the current one, then signs out.
    let own = |b: &mut Browser, current: &str| {
        b.post(
            "/members/own-password",
            &[
                ("csrf", &csrf),
                ("current", current),
                ("password", "đổi-mật-khẩu-2027"),
                ("repeat", "đổi-mật-khẩu-2027"),
            ],
        )
        .status()
    };
    assert_eq!(own(&mut lead, "không-phải-nó"), 403);
    assert_eq!(own(&mut lead, PASSWORD), 303);
    assert_eq!(location(&lead.get("/overview")), "/login", "signed out everywhere");
    assert_eq!(lead.sign_in("Lò Văn Thành", PASSWORD).status(), 401);
    assert_eq!(lead.sign_in("Lò Văn Thành", "đổi-mật-khẩu-2027").status(), 303);

    // The admin starts a campaign from the form: a bad day changes nothing.
    let mut office = Browser::new(&server.url);
    assert_eq!(office.sign_in("Nguyễn Văn Quản", PASSWORD).status(), 303);
    let page = office.text("/campaigns");
    assert!(
        page.contains("/campaigns/create") && page.contains("Chieng Sinh"),
        "an admin sees all"
    );
    let csrf = Browser::csrf(&page);
    let mut form = new_campaign.to_vec();
    form[0] = ("csrf", csrf.as_str());
    let mut bad = form.clone();
    bad[2] = ("starts_on", "05/01/2027");
    let r = office.post("/campaigns/create", &bad);
    assert_eq!(r.status(), 400);
    assert!(
        r.text().unwrap().contains("05/01/2027"),
        "the message names the bad value"
    );
    assert!(!admin(&db, &["campaign", "list"]).contains("Mường Nhé 2027"));
    assert_eq!(office.post("/campaigns/create", &form).status(), 303);
    let page = office.text("/campaigns");
    assert!(
        page.contains("Chiến dịch Mường Nhé 2027") && page.contains("Nậm Kè, Nậm Là"),
        "{page}"
    );
    assert!(page.contains("Mường Nhé Mới"));
    assert!(
        admin(&db, &["campaign", "list"]).contains("Chiến dịch Mường Nhé 2027"),
        "the same as the CLI's"
    );
    // With two campaigns, a lead's new member joins the campaign of its village.
    let csrf = Browser::csrf(&lead.text("/members"));
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Lò Thị Sau"),
        ("role", "volunteer"),
        ("unit", "youth_union"),
        ("village", bun.as_str()),
    ];
    assert_eq!(lead.post("/members/add", &form).status(), 303);
    assert!(lead.text("/members").contains("Lò Thị Sau"));
}
