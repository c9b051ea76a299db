//! A day of fieldwork for the report stories: the campaign of
//! [`World`], the bundled packs handed out, and what two tablets pushed.
//!
//! | household (village)      | visit, UTC (local)                 | what came of it           |
//! |--------------------------|------------------------------------|---------------------------|
//! | Lò Văn Pắn (Bun)         | 11-20 01:30 (08:30), Thành         | helped; vneid done, vssid |
//! |                          |                                    | blocked (no chip ID card) |
//! | Quàng Thị Mường (Bun)    | 11-19 23:30 (11-20 06:30), Thành   | nobody home, back 11-20   |
//! | Sùng A Tủa (Khin)        | 11-19 03:00 (10:00), nobody named  | partial, taught by Pắn    |
//! | Hà Thị Lan (Khin)        | never visited                      |                           |
//! | Lường Văn Mường (Tam Tu) | 11-20 03:00 (10:00), Nga           | helped                    |

use chrono::NaiveDate;
use doorstep_core::entities::StepStatus;
use doorstep_core::vocab::{BlockerReason, VisitOutcome};
use doorstep_ingest::pack_catalog;
use doorstep_store::Store;
use uuid::Uuid;

use crate::world::{Tablet, World, at, now, pack, steps};

/// The campaign and the households of the table above.
#[derive(Debug)]
pub(crate) struct Seeded {
    pub(crate) w: World,
    pub(crate) pan: Uuid,
    pub(crate) muong: Uuid,
    pub(crate) tua: Uuid,
    pub(crate) lan: Uuid,
    pub(crate) na_sai: Uuid,
}

pub(crate) async fn seed<S: Store>(store: &S) -> Seeded {
    let w = World::create(store).await;
    store
        .record_packs(pack_catalog::bundled(), now())
        .await
        .expect("db")
        .expect("packs");
    let (bun, khin) = (w.muong_lan.villages[0], w.muong_lan.villages[1]);
    let mut t = Tablet::enrol(store, w.thanh, &w.muong_lan).await;
    let mut batch = Vec::new();
    let (pan, c) = t.household(bun, "Lò Văn Pắn");
    batch.push(c);
    let (pan_p, c) = t.person(pan, "Lò Văn Pắn");
    batch.push(c);
    let (xuan_p, c) = t.person(pan, "Lò Thị Xuân");
    batch.push(c);
    let (muong, c) = t.household(bun, "Quàng Thị Mường");
    batch.push(c);
    let (tua, c) = t.household(khin, "Sùng A Tủa");
    batch.push(c);
    let (_, c) = t.person(tua, "Sùng A Tủa");
    batch.push(c);
    let (lan, c) = t.household(khin, "Hà Thị Lan");
    batch.push(c);
    let (v_pan, c) = t.visit(
        pan,
        Some(w.thanh),
        at("2026-11-20T01:30:00Z"),
        VisitOutcome::Helped,
        None,
        None,
    );
    batch.push(c);
    let back = NaiveDate::from_ymd_opt(2026, 11, 20);
    let started = at("2026-11-19T23:30:00Z");
    batch.push(
        t.visit(muong, Some(w.thanh), started, VisitOutcome::NobodyHome, back, None)
            .1,
    );
    let started = at("2026-11-19T03:00:00Z");
    batch.push(t.visit(tua, None, started, VisitOutcome::Partial, None, Some(pan_p)).1);
    let (vneid, vssid) = (pack("vneid"), pack("vssid"));
    let (r_pan, c) = t.run(v_pan, pan_p, pan, &vneid, at("2026-11-20T01:40:00Z"));
    batch.push(c);
    let (r_xuan, c) = t.run(v_pan, xuan_p, pan, &vssid, at("2026-11-20T02:10:00Z"));
    batch.push(c);
    for step in steps(&vneid) {
        batch.push(t.step(r_pan, &step, StepStatus::Done));
    }
    let blocked = StepStatus::Blocked(BlockerReason::NoChipIdCard);
    batch.push(t.step(r_xuan, &steps(&vssid)[0], blocked));
    let pushed = t.push(store, batch).await;
    assert!(pushed.rejected.is_empty(), "{:?}", pushed.rejected);

    let mut t = Tablet::enrol(store, w.nga, &w.chieng_sinh).await;
    let (na_sai, h) = t.household(w.chieng_sinh.villages[0], "Lường Văn Mường");
    let (_, v) = t.visit(na_sai, Some(w.nga), now(), VisitOutcome::Helped, None, None);
    t.push(store, vec![h, v]).await;
    Seeded {
        w,
        pan,
        muong,
        tua,
        lan,
        na_sai,
    }
}
