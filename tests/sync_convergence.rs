//! Three tablets in one commune and one in another, all working offline,
//! including the same household field changed on two tablets; then synced
//! in every order against the real server. The commune's tablets end with
//! identical state, the other commune sees none of it, and the concurrent
//! edit is kept as a conflict for review.

#![allow(clippy::unwrap_used)]

use doorstep_core::entities::Household;
use doorstep_core::phone::Phone;
use doorstep_e2e::{Server, Tablet, campaign, code, household_ids, visit_new_household};

const ORDERS: [[usize; 3]; 6] = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];

#[test]
fn tablets_of_a_commune_converge_in_every_sync_order_and_others_see_nothing() {
    for order in ORDERS {
        one_order(order);
    }
}

fn one_order(order: [usize; 3]) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let c = campaign(&db);
    let server = Server::start(&db);
    let (muong_lan, villages_a) = &c.communes[0];
    let (chieng_sinh, villages_b) = &c.communes[1];
    let mut a: Vec<Tablet> = (0..3)
        .map(|_| Tablet::enrol(&server.url, &code(&db, &c.member, muong_lan)))
        .collect();
    let mut b = Tablet::enrol(&server.url, &code(&db, &c.member, chieng_sinh));
    for t in a.iter_mut().chain(std::iter::once(&mut b)) {
        t.sync(&server.url);
    }
    assert_eq!(a[0].store.villages().unwrap().len(), 3, "commune A's villages arrive");
    assert_eq!(
        b.store.villages().unwrap().len(),
        1,
        "commune B sees only its own village"
    );

    // A household every tablet of commune A knows.
    let shared = visit_new_household(&mut a[0].store, &villages_a[0], "Lò Văn Pắn");
    a[0].sync(&server.url);
    a[1].sync(&server.url);
    a[2].sync(&server.url);

    // Offline: two tablets correct the same phone from the same base.
    a[0].store
        .update::<Household>(
            shared.as_uuid(),
            doorstep_core::entities::Patch::<Household>::new().phone(Some(Phone::parse("0912345678").unwrap())),
        )
        .unwrap();
    a[1].store
        .update::<Household>(
            shared.as_uuid(),
            doorstep_core::entities::Patch::<Household>::new().phone(Some(Phone::parse("0987654321").unwrap())),
        )
        .unwrap();
    visit_new_household(&mut a[1].store, &villages_a[1], "Quàng Thị Ơn");
    visit_new_household(&mut a[2].store, &villages_a[2], "Giàng A Sử");
    let secret = visit_new_household(&mut b.store, &villages_b[0], "Cà Văn Chiến");

    // Sync in this order, twice round so everyone has everything.
    for _ in 0..2 {
        for &i in &order {
            a[i].sync(&server.url);
        }
        b.sync(&server.url);
    }

    let digests: Vec<String> = a.iter().map(|t| t.store.state_digest().unwrap()).collect();
    assert!(
        digests.iter().all(|d| d == &digests[0]),
        "order {order:?}: commune A's tablets differ: {digests:?}"
    );
    let households_a = household_ids(&a[0].store);
    assert_eq!(households_a.len(), 3, "order {order:?}");
    assert!(
        !households_a.contains(&secret.to_string()),
        "commune B's household leaked to A"
    );
    let households_b = household_ids(&b.store);
    assert_eq!(
        households_b,
        vec![secret.to_string()],
        "order {order:?}: B sees only its own"
    );
    for t in &a {
        let conflicts = t.store.conflicts().unwrap();
        assert_eq!(
            conflicts.len(),
            1,
            "order {order:?}: the phone conflict is kept for review"
        );
        assert_eq!(conflicts[0].field, "phone");
    }
    assert!(b.store.conflicts().unwrap().is_empty());
}
