//! The dashboard in each of its languages, through its router: `<html lang
//! dir>`, the language switch, the language cookie, and Arabic pages read
//! right to left with mirrored charts.

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use chrono::Utc;
use doorstep_dashboard::{Dashboard, router, session};
use doorstep_office::admin;
use doorstep_store::Store;
use doorstep_store::accounts::Accounts;
use doorstep_store::any::AnyStore;
use tower::ServiceExt;

/// A dashboard over the demo campaign, and the session cookie of its Muong
/// Lan lead.
struct Office {
    _dir: tempfile::TempDir,
    app: axum::Router,
    session: String,
}

impl Office {
    async fn demo() -> Office {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("server.db");
        let store = AnyStore::open(db.to_str().expect("a UTF-8 temp path"))
            .await
            .expect("store");
        let now = Utc::now();
        admin::create_demo_campaign(&store, now).await.expect("demo campaign");
        let lead = store
            .accounts()
            .await
            .expect("accounts")
            .into_iter()
            .find(|a| a.role == "lead" && a.name == "Lò Văn Thành")
            .expect("the demo campaign's Muong Lan lead");
        let cookie = session::start(&store, store.token_key(), lead.member_id, now)
            .await
            .expect("a session");
        let session = cookie
            .to_str()
            .expect("ASCII cookie")
            .split(';')
            .next()
            .expect("name=value")
            .to_owned();
        Office {
            _dir: dir,
            app: router(Dashboard::new(store)),
            session,
        }
    }

    /// GETs `uri` with these cookies: status, `Set-Cookie` headers, body.
    async fn get(&self, uri: &str, cookies: &[&str]) -> (StatusCode, Vec<String>, String) {
        let mut request = Request::get(uri);
        if !cookies.is_empty() {
            request = request.header(header::COOKIE, cookies.join("; "));
        }
        let response = self
            .app
            .clone()
            .oneshot(request.body(Body::empty()).expect("a request"))
            .await
            .expect("the router answers");
        let status = response.status();
        let set: Vec<String> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        let body = to_bytes(response.into_body(), 1 << 22).await.expect("a body");
        (status, set, String::from_utf8(body.to_vec()).expect("UTF-8 HTML"))
    }

    async fn page(&self, uri: &str) -> String {
        let (status, _, body) = self.get(uri, &[&self.session]).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        body
    }
}

/// The `hreflang`s the language switch offers, in order.
fn switch(body: &str) -> Vec<&str> {
    body.split("hreflang=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

#[tokio::test]
async fn the_sign_in_form_speaks_each_language_and_offers_the_other_two() {
    let office = Office::demo().await;
    for (asked, html, heading, others) in [
        ("", r#"<html lang="vi" dir="ltr">"#, "Đăng nhập", ["en", "ar"]),
        ("?lang=en", r#"<html lang="en" dir="ltr">"#, "Sign in", ["vi", "ar"]),
        (
            "?lang=ar",
            r#"<html lang="ar" dir="rtl">"#,
            "تسجيل الدخول",
            ["vi", "en"],
        ),
        ("?lang=fr", r#"<html lang="vi" dir="ltr">"#, "Đăng nhập", ["en", "ar"]),
    ] {
        let (status, _, body) = office.get(&format!("/login{asked}"), &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains(html), "/login{asked}: {html}");
        assert!(
            body.contains(&format!("<h1>{heading}</h1>")),
            "/login{asked}: {heading}"
        );
        assert_eq!(switch(&body), others, "/login{asked}");
    }
    // Each language is named in itself, marked with its own lang and dir.
    let (_, _, body) = office.get("/login?lang=en", &[]).await;
    assert!(body.contains(r#"lang="ar" dir="rtl">العربية</a>"#), "{body}");
    assert!(body.contains(r#"href="/login?lang=vi""#));
    let (_, _, body) = office.get("/login?lang=ar", &[]).await;
    assert!(body.contains(r#"lang="vi" dir="ltr">Tiếng Việt</a>"#));
    assert!(body.contains(r#"<nav class="langs" aria-label="اللغة">"#));
}

#[tokio::test]
async fn arabic_is_remembered_and_its_pages_read_right_to_left() {
    let office = Office::demo().await;
    let (status, cookies, body) = office.get("/overview?lang=ar", &[&office.session]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        cookies.iter().any(|c| c.starts_with("doorstep_lang=ar;")),
        "{cookies:?}"
    );
    assert!(body.contains(r#"<html lang="ar" dir="rtl">"#));
    assert!(body.contains("<h1>أين وصلت الحملة</h1>"));
    assert!(body.contains(">نظرة عامة</a>"), "the navigation in Arabic");
    assert!(body.contains("<title>أين وصلت الحملة - Doorstep</title>"));
    // Its charts are mirrored: left-to-right SVGs whose texts are isolated
    // right to left (the chart module's tests check the geometry).
    assert_eq!(body.matches(r#"direction="ltr" role="img""#).count(), 5);
    assert!(
        body.contains("\u{2067}تم الوصول إليها\u{2069}</text>"),
        "the coverage legend"
    );

    // The cookie alone keeps every page in Arabic.
    let lang = "doorstep_lang=ar";
    for (uri, heading) in [
        ("/follow-ups", "قائمة جولة الغد"),
        ("/peer-spread", "الجيران يعلّمون الجيران"),
        ("/conflicts", "عُدّلت على جهازين في الوقت نفسه"),
        ("/devices", "الأجهزة اللوحية"),
        ("/members", "أعضاء الحملة"),
        ("/campaigns", "الحملات"),
        ("/exports", "تصدير البيانات"),
    ] {
        let (status, _, body) = office.get(uri, &[&office.session, lang]).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(body.contains(r#"<html lang="ar" dir="rtl">"#), "{uri}");
        assert!(body.contains(&format!("<h1>{heading}</h1>")), "{uri}: {heading}");
        assert_eq!(switch(&body), ["vi", "en"], "{uri}");
    }

    // Units and roles come from the Arabic words too, and lists are
    // separated by the Arabic comma.
    let members = office.page("/members?lang=ar").await;
    assert!(members.contains("قائد فريق") && members.contains("اتحاد الشباب"));
    let campaigns = office.page("/campaigns?lang=ar").await;
    assert!(
        campaigns.contains("<td>Ba Nam، Bun، Hui Long، Khin، Lich Tu، Tam Tu</td>"),
        "{campaigns}"
    );
    assert!(
        office
            .page("/campaigns?lang=en")
            .await
            .contains("<td>Ba Nam, Bun, Hui Long, Khin, Lich Tu, Tam Tu</td>")
    );
}

#[tokio::test]
async fn arabic_exports_say_their_files_are_in_english() {
    let office = Office::demo().await;
    let note = "تُكتب الملفات بالإنجليزية";
    assert!(office.page("/exports?lang=ar").await.contains(note));
    let english = office.page("/exports?lang=en").await;
    assert!(!english.contains("The files are written in English."));
    let (status, _, csv) = office
        .get("/exports/download?what=coverage&lang=ar", &[&office.session])
        .await;
    assert_eq!(status, StatusCode::OK);
    let header = csv.trim_start_matches('\u{feff}').lines().next().unwrap_or_default();
    let (_, _, vietnamese) = office
        .get("/exports/download?what=coverage&lang=vi", &[&office.session])
        .await;
    let (_, _, in_english) = office
        .get("/exports/download?what=coverage&lang=en", &[&office.session])
        .await;
    assert_eq!(
        header,
        in_english
            .trim_start_matches('\u{feff}')
            .lines()
            .next()
            .unwrap_or_default()
    );
    assert_ne!(
        header,
        vietnamese
            .trim_start_matches('\u{feff}')
            .lines()
            .next()
            .unwrap_or_default()
    );
}
