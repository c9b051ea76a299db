//! Epochs: one history when a store is new; a tablet confirmed beyond what
//! the log holds (a log put back behind the server's back) starts another,
//! with a new office device, once.
//!
//! Times here are the real clock's: a store's first epoch starts when it
//! is opened, and the rule compares it with when the tablet was last seen.

use chrono::{Duration, Utc};
use doorstep_store::Store;
use doorstep_store::accounts::Accounts;

use crate::world::{Tablet, World};

/// The server seq of the change that created `entity` (in Mường Lạn): the
/// cursor after a page that ends with it.
async fn server_seq<S: Store>(store: &S, w: &World, entity: uuid::Uuid) -> u64 {
    let reader = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let mut cursor = 0;
    loop {
        let page = store
            .pull(reader.scope.clone(), reader.device, cursor, 1, usize::MAX)
            .await
            .expect("db");
        assert!(!page.changes.is_empty(), "the change is in the log");
        cursor = page.next_cursor;
        if page.changes[0].entity_id == entity {
            return cursor;
        }
    }
}

pub(crate) async fn a_fresh_store_has_one_epoch_and_no_backup<S: Store + Accounts>(store: &S) {
    let epochs = store.epochs();
    assert_eq!(epochs.all().len(), 1, "{epochs:?}");
    let first = &epochs.all()[0];
    assert_eq!(
        (first.id.as_str(), first.parent.as_deref(), first.base_seq),
        (epochs.current(), None, 0)
    );
    assert_eq!(store.reload_epochs().await.expect("db"), epochs);
    assert_eq!(store.newest_backup().await.expect("db"), None);
    assert_eq!(store.change_count().await.expect("db"), 0);
}

pub(crate) async fn a_tablet_confirmed_beyond_the_log_starts_a_new_epoch<S: Store + Accounts>(store: &S) {
    let w = World::create(store).await;
    let mut tablet = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let (_, h1) = tablet.household(w.muong_lan.villages[0], "Lò Văn Pắn");
    let (house, h2) = tablet.household(w.muong_lan.villages[0], "Quàng Thị Mường");
    let seen = Utc::now() + Duration::seconds(1);
    store
        .push(tablet.device, 0, vec![h1, h2], seen)
        .await
        .expect("db")
        .expect("taken");
    let before = store.epochs();
    let old_office = store.office_device();

    // Nothing to tell: confirmed no further than the log holds, or no such device.
    assert!(!store.rewound(tablet.device, 2, seen).await.expect("db"));
    assert!(
        !store
            .rewound(doorstep_core::ids::DeviceId::new(), 9, seen)
            .await
            .expect("db")
    );
    assert_eq!(store.epochs(), before);

    // The tablet was confirmed up to 5: the log was put back.
    let told = seen + Duration::seconds(1);
    assert!(store.rewound(tablet.device, 5, told).await.expect("db"), "a new epoch");
    let after = store.epochs();
    assert_eq!(after.all().len(), 2, "{after:?}");
    let new = after
        .all()
        .iter()
        .find(|e| e.id == after.current())
        .expect("the current epoch is listed");
    assert_eq!(new.parent.as_deref(), Some(before.current()));
    assert_eq!(
        new.base_seq,
        server_seq(store, &w, house).await,
        "the log up to the tablet's last change it holds"
    );
    assert_eq!(store.reload_epochs().await.expect("db"), after);

    // The office writes as a new device, from seq 1.
    let office = store.office_device();
    assert_ne!(office, old_office);
    let rename = doorstep_ingest::OfficeWrite {
        kind: doorstep_core::schema::EntityKind::Household,
        id: house,
        create: false,
        fields: vec![("notes".to_owned(), doorstep_core::schema::FieldValue::from("Nhà sàn"))],
        resolves_conflicts: false,
    };
    let written = store.office_write(vec![rename], told).await.expect("written");
    assert_eq!((written[0].device, written[0].seq), (office, 1));

    // Told again: the new epoch accounts for it already.
    assert!(
        !store
            .rewound(tablet.device, 5, told + Duration::seconds(1))
            .await
            .expect("db")
    );
    assert_eq!(store.epochs().all().len(), 2);
}
