//! The tablets page through the real router: how each tablet's work last
//! reached the office (directly, or carried by another tablet) and the
//! carried batches the office refused, in each language.

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Duration, Utc};
use doorstep_core::change::{Change, ChangeOp, FieldWrite};
use doorstep_core::entities::{Entity, Household};
use doorstep_core::hlc::{Hlc, wall_millis};
use doorstep_core::ids::{ChangeId, DeviceId, HouseholdId};
use doorstep_core::text::PersonName;
use doorstep_dashboard::{Dashboard, router, session};
use doorstep_office::admin;
use doorstep_store::Store;
use doorstep_store::accounts::Accounts;
use doorstep_store::any::AnyStore;
use tower::ServiceExt;

/// Enrols a tablet for `member` in `commune`, labelled `label`.
async fn enrol(store: &AnyStore, member: &str, commune: &str, label: &str, now: DateTime<Utc>) -> DeviceId {
    let issued = admin::new_enrol_code(store, member, commune, Duration::days(1), now)
        .await
        .expect("a code");
    let code_hash = store
        .token_key()
        .hash(&doorstep_store::auth::normalise_code(&issued.code));
    let token = store
        .token_key()
        .hash(&doorstep_store::auth::new_token().expect("randomness"));
    store
        .enroll(code_hash, token, Some(label.to_owned()), now)
        .await
        .expect("enrolled")
        .device_id
}

/// A tablet's first change: a household found in `village`.
fn household(device: DeviceId, village: doorstep_core::ids::VillageId, now: DateTime<Utc>) -> Change {
    let h = Household {
        id: HouseholdId::new(),
        village_id: village,
        head_name: PersonName::parse("Lò Văn Pắn").expect("a name"),
        landmark: None,
        phone: None,
        members_count: None,
        language: None,
        notes: None,
        location: None,
        created_at: now,
    };
    Change {
        id: ChangeId::derive(device, 1),
        device,
        seq: 1,
        hlc: Hlc::new(wall_millis(now), 0),
        entity: Household::KIND,
        entity_id: h.entity_id(),
        op: ChangeOp::Create,
        fields: h
            .fields()
            .into_iter()
            .map(|(field, value)| FieldWrite {
                field: field.to_owned(),
                value,
                base: None,
                resolves: Vec::new(),
            })
            .collect(),
    }
}

async fn page(app: &axum::Router, cookie: &str, uri: &str) -> String {
    let response = app
        .clone()
        .oneshot(
            Request::get(uri)
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .expect("a request"),
        )
        .await
        .expect("the router answers");
    assert_eq!(response.status(), StatusCode::OK, "{uri}");
    let body = to_bytes(response.into_body(), 1 << 22).await.expect("a body");
    String::from_utf8(body.to_vec()).expect("UTF-8 HTML")
}

/// The text of the table row of the tablet `id`.
fn row(body: &str, id: DeviceId) -> &str {
    let start = body
        .find(&format!("<tr data-device=\"{id}\">"))
        .unwrap_or_else(|| panic!("{id} is listed: {body}"));
    let rest = &body[start..];
    &rest[..rest.find("</tr>").expect("the row ends")]
}

/// Unicode isolates around a tablet's name.
fn named(name: &str) -> String {
    format!("\u{2068}{name}\u{2069}")
}

#[tokio::test]
async fn the_tablets_page_says_how_work_reached_the_office_and_what_was_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("server.db");
    let store = AnyStore::open(db.to_str().expect("a UTF-8 temp path"))
        .await
        .expect("store");
    let now = Utc::now() - Duration::hours(1);
    let created = admin::create_demo_campaign(&store, now).await.expect("demo campaign");
    let (muong_lan, _, villages) = created
        .communes
        .iter()
        .find(|c| c.1 == "Muong Lan")
        .expect("Muong Lan")
        .clone();
    let lead = store
        .accounts()
        .await
        .expect("accounts")
        .into_iter()
        .find(|a| a.role == "lead" && a.name == "Lò Văn Thành")
        .expect("the Muong Lan lead");
    let commune = muong_lan.to_string();
    let origin = enrol(&store, &lead.member_id, &commune, "Máy bản Bun", now).await;
    let carrier = enrol(&store, &lead.member_id, &commune, "Máy bản Khin", now).await;
    let stranger = DeviceId::new();

    // The Khin tablet carries the Bun tablet's first household in.
    let carried_at = now + Duration::minutes(20);
    let pushed = store
        .push_carried(origin, carrier, vec![household(origin, villages[0].0, now)], carried_at)
        .await
        .expect("db")
        .expect("taken");
    assert_eq!(pushed.accepted, 1);
    // Refused: twice a batch of the Bun tablet's whose signature did not
    // hold, and a batch of a tablet the office does not know.
    for m in [21, 22] {
        let at = now + Duration::minutes(m);
        store
            .record_relay(carrier, origin, "bad_signature".to_owned(), at)
            .await
            .expect("db");
    }
    store
        .record_relay(carrier, stranger, "unknown_origin".to_owned(), carried_at)
        .await
        .expect("db");

    let cookie = session::start(&store, store.token_key(), lead.member_id.clone(), now)
        .await
        .expect("a session");
    let cookie = cookie
        .to_str()
        .expect("ASCII")
        .split(';')
        .next()
        .expect("name=value")
        .to_owned();
    let app = router(Dashboard::new(store.clone()));
    let short = {
        let id = stranger.to_string();
        id[id.len() - 8..].to_owned()
    };

    let body = page(&app, &cookie, "/devices?lang=en").await;
    assert!(body.contains("Work last reached the office"), "{body}");
    let bun = row(&body, origin);
    assert!(
        bun.contains(&format!("through {}, ", named("Máy bản Khin"))),
        "carried in by the Khin tablet: {bun}"
    );
    assert!(!bun.contains("directly"), "the Bun tablet never synced itself: {bun}");
    assert!(
        bun.contains(&format!(
            "relayed by {}, refused: bad signature (2)",
            named("Máy bản Khin")
        )),
        "{bun}"
    );
    let khin = row(&body, carrier);
    assert!(khin.contains("never"), "the carrier never synced itself: {khin}");
    assert!(
        khin.contains(&format!("carried for {}, refused: unknown tablet (1)", named(&short))),
        "a tablet the office does not know is named by the end of its id: {khin}"
    );
    assert!(
        khin.contains("refused: bad signature (2)"),
        "the carrier sees it too: {khin}"
    );
    assert!(!body.contains("<script"), "no JavaScript");

    // Once the Bun tablet syncs itself, both ways show.
    let synced_at = now + Duration::minutes(30);
    store
        .push(origin, 1, Vec::new(), synced_at)
        .await
        .expect("db")
        .expect("ok");
    let body = page(&app, &cookie, "/devices?lang=en").await;
    let bun = row(&body, origin);
    assert!(bun.contains("directly, ") && bun.contains("through "), "{bun}");

    let vi = page(&app, &cookie, "/devices").await;
    let bun = row(&vi, origin);
    assert!(
        bun.contains(&format!(
            "{} chuyển giúp nhưng bị từ chối: chữ ký không hợp lệ (2 lần)",
            named("Máy bản Khin")
        )),
        "{bun}"
    );
    assert!(bun.contains("trực tiếp, ") && bun.contains(&format!("qua {}, ", named("Máy bản Khin"))));
    let ar = page(&app, &cookie, "/devices?lang=ar").await;
    assert!(ar.contains(r#"<html lang="ar" dir="rtl">"#));
    let khin = row(&ar, carrier);
    assert!(
        khin.contains(&format!(
            "نقل عمل {} فرُفض: جهاز غير معروف (عدد المرات: 1)",
            named(&short)
        )),
        "{khin}"
    );
}
