//! A fault-injecting link between tablets and the real server: connections
//! cut at random byte offsets in both directions, delayed, stalled, and
//! replayed. After 200 randomised rounds of field work and syncs, every
//! change is on the server exactly once and every tablet converges.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use doorstep_core::entities::{Household, Patch};
use doorstep_core::phone::Phone;
use doorstep_e2e::{Server, Tablet, campaign, code, household_ids, quick, server_log_counts, visit_new_household};
use doorstep_netsim::{Proxy, Toxics};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

const ROUNDS: usize = 200;

#[test]
fn every_change_arrives_exactly_once_through_a_cutting_replaying_link() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let c = campaign(&db);
    let server = Server::start(&db);
    let (commune, villages) = &c.communes[0];
    let mut tablets: Vec<Tablet> = (0..3)
        .map(|_| Tablet::enrol(&server.url, &code(&db, &c.member, commune)))
        .collect();
    for t in &mut tablets {
        t.sync(&server.url); // the villages arrive
    }
    let hostile = Toxics {
        cut_probability: 0.5,
        cut_window_bytes: 1_500,
        replay_probability: 0.3,
        latency: Duration::from_millis(2),
        extra_delay_probability: 0.05,
        extra_delay: Duration::from_millis(300),
        ..Toxics::default()
    };
    let proxy = Proxy::start(server.addr(), hostile, 20_261_127).unwrap();
    let via = format!("http://{}", proxy.addr());
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut options = quick();
    options.max_attempts = 3; // give up sometimes: a later round resumes
    options.batch_bytes = 4 * 1024; // small batches: many round trips to cut
    let (mut ok, mut failed) = (0, 0);
    for round in 0..ROUNDS {
        let t = (rng.next_u32() % 3) as usize;
        match rng.next_u32() % 4 {
            0 | 1 => {
                let v = &villages[(rng.next_u32() % 3) as usize];
                visit_new_household(&mut tablets[t].store, v, &format!("Lò Văn Số {round}"));
            }
            2 => {
                let known = household_ids(&tablets[t].store);
                if let Some(h) = known.get((rng.next_u32() as usize) % known.len().max(1)) {
                    let phone = Phone::parse(&format!("09{:08}", rng.next_u32() % 100_000_000)).unwrap();
                    tablets[t]
                        .store
                        .update::<Household>(h.parse().unwrap(), Patch::<Household>::new().phone(Some(phone)))
                        .unwrap();
                }
            }
            _ => {}
        }
        match tablets[t].try_sync(&via, &options) {
            Ok(_) => ok += 1,
            Err(_) => failed += 1,
        }
    }
    assert!(
        proxy.stats().connections_cut > 20,
        "the link really cut: {:?}",
        proxy.stats()
    );
    assert!(ok > 0, "some syncs got through ({failed} gave up)");

    // The link heals; everyone syncs until quiet.
    drop(proxy);
    for _ in 0..2 {
        for t in &mut tablets {
            t.sync(&server.url);
        }
    }
    let on_server = server_log_counts(&db);
    for t in &tablets {
        let written = t.store.sync_position().unwrap().last_seq;
        let device = t.store.device_id().to_string();
        let (count, max_seq) = on_server.get(&device).copied().unwrap_or((0, 0));
        assert_eq!(
            (count, max_seq),
            (written, written),
            "device {device}: every seq 1..={written} on the server exactly once"
        );
        assert_eq!(t.store.sync_position().unwrap().acked_seq, written);
    }
    let digests: Vec<String> = tablets.iter().map(|t| t.store.state_digest().unwrap()).collect();
    assert!(digests.iter().all(|d| d == &digests[0]), "tablets differ: {digests:?}");
}
