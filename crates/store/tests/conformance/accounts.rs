//! Dashboard accounts (the `Accounts` trait): members with their
//! communes, password hashes, and sessions that expire, end, and end with
//! a new password.

use chrono::Duration;
use doorstep_core::schema::{EntityKind, FieldValue};
use doorstep_ingest::OfficeWrite;
use doorstep_office::admin::{self, MemberSpec};
use doorstep_store::Store;
use doorstep_store::accounts::{Account, Accounts, Session};
use uuid::Uuid;

use crate::world::{World, id_text, now};

fn session(member: Uuid, csrf: &str, hours: i64) -> Session {
    Session {
        member_id: id_text(member),
        csrf: csrf.to_owned(),
        expires_at: now() + Duration::hours(hours),
    }
}

async fn account<S: Accounts>(store: &S, member: Uuid) -> Account {
    store
        .accounts()
        .await
        .expect("accounts")
        .into_iter()
        .find(|a| a.member_id == id_text(member))
        .expect("the member has an account")
}

pub(crate) async fn accounts_list_members_with_their_communes<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    // A lead of both communes, villages listed from the newest.
    let villages = [w.chieng_sinh.villages[0], w.muong_lan.villages[1]];
    let spec = MemberSpec {
        campaign: None,
        name: "Cầm Văn Hùng".to_owned(),
        role: "lead".to_owned(),
        unit: "commune_police".to_owned(),
        phone: None,
        villages: villages.iter().map(|v| id_text(*v)).collect(),
    };
    let hung = admin::add_member(store, spec, now()).await.expect("added").as_uuid();
    let all = store.accounts().await.expect("accounts");
    let brief: Vec<_> = all
        .iter()
        .map(|a| (a.name.as_str(), a.role.as_str(), a.unit.as_str(), a.has_password))
        .collect();
    assert_eq!(
        brief,
        vec![
            ("Cầm Văn Hùng", "lead", "commune_police", false),
            ("Lò Thị Nga", "volunteer", "youth_union", false),
            ("Lò Văn Thành", "volunteer", "youth_union", false),
        ],
        "every member, by name"
    );
    assert_eq!(account(store, w.thanh).await.communes, vec![w.muong_lan.scope()]);
    assert_eq!(account(store, w.nga).await.communes, vec![w.chieng_sinh.scope()]);
    // Each commune once, in the order of its first village's id (the
    // villages were made Bun, Khin, Tam Tu: ids in that order).
    assert!(w.muong_lan.villages[1] < w.chieng_sinh.villages[0]);
    assert_eq!(
        account(store, hung).await.communes,
        vec![w.muong_lan.scope(), w.chieng_sinh.scope()]
    );

    store
        .set_password(id_text(hung), "argon2-hash".to_owned(), now())
        .await
        .expect("set");
    assert!(account(store, hung).await.has_password);
    assert!(!account(store, w.thanh).await.has_password);

    // A member deleted at the office has no account any more.
    let gone = OfficeWrite {
        kind: EntityKind::Member,
        id: w.nga,
        create: false,
        fields: vec![("deleted".to_owned(), FieldValue::Bool(true))],
        resolves_conflicts: false,
    };
    store.office_write(vec![gone], now()).await.expect("deleted");
    let names: Vec<String> = store
        .accounts()
        .await
        .expect("accounts")
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, vec!["Cầm Văn Hùng", "Lò Văn Thành"]);
}

pub(crate) async fn a_password_set_replaces_the_old_and_ends_sessions<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let (thanh, nga) = (id_text(w.thanh), id_text(w.nga));
    assert_eq!(store.password_hash(thanh.clone()).await.expect("db"), None);
    store
        .set_password(thanh.clone(), "first".to_owned(), now())
        .await
        .expect("set");
    assert_eq!(
        store.password_hash(thanh.clone()).await.expect("db").as_deref(),
        Some("first")
    );

    let mine = session(w.thanh, "csrf-thanh", 8);
    let theirs = session(w.nga, "csrf-nga", 8);
    store
        .start_session("token-thanh".to_owned(), mine.clone(), now())
        .await
        .expect("started");
    store
        .start_session("token-nga".to_owned(), theirs.clone(), now())
        .await
        .expect("started");
    assert_eq!(
        store.session("token-thanh".to_owned(), now()).await.expect("db"),
        Some(mine)
    );

    // A new password: the old hash is gone, and so are the member's
    // sessions (not another member's).
    store
        .set_password(thanh.clone(), "second".to_owned(), now())
        .await
        .expect("set");
    assert_eq!(store.password_hash(thanh).await.expect("db").as_deref(), Some("second"));
    assert_eq!(store.session("token-thanh".to_owned(), now()).await.expect("db"), None);
    assert_eq!(
        store.session("token-nga".to_owned(), now()).await.expect("db"),
        Some(theirs)
    );
    assert_eq!(store.password_hash(nga).await.expect("db"), None);
}

pub(crate) async fn sessions_expire_and_end<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let one_hour = session(w.thanh, "csrf-1", 1);
    store
        .start_session("token-1".to_owned(), one_hour.clone(), now())
        .await
        .expect("started");
    let almost = now() + Duration::minutes(59);
    assert_eq!(
        store.session("token-1".to_owned(), almost).await.expect("db"),
        Some(one_hour.clone())
    );
    assert_eq!(
        store
            .session("token-1".to_owned(), one_hour.expires_at)
            .await
            .expect("db"),
        None,
        "ended at its expiry"
    );
    assert_eq!(
        store.session("token-unknown".to_owned(), now()).await.expect("db"),
        None
    );

    let eight_hours = session(w.thanh, "csrf-2", 8);
    store
        .start_session("token-2".to_owned(), eight_hours.clone(), now())
        .await
        .expect("started");
    store.end_session("token-2".to_owned()).await.expect("ended");
    assert_eq!(
        store.session("token-2".to_owned(), now()).await.expect("db"),
        None,
        "signed out"
    );
    store
        .end_session("token-2".to_owned())
        .await
        .expect("ending twice is harmless");
    assert_eq!(
        store.session("token-1".to_owned(), now()).await.expect("db"),
        Some(one_hour),
        "another session of the member goes on"
    );
}
