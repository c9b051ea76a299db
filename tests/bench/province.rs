//! A province-sized campaign for the benchmarks: 100,000 households in 40
//! communes of 6 villages, about 1,000,000 step events. 33,200 households
//! come from tablets' days of field work (`support/day.rs`), pushed through
//! the store's own ingest as devices do; the other 66,800 are on the
//! register, not visited yet (office writes). So the report tables are
//! built exactly as in production. About two minutes on the CI machine.

#![allow(dead_code)]

use chrono::Utc;
use doorstep_core::entities::{Entity, Household};
use doorstep_core::ids::{DeviceId, HouseholdId, VillageId};
use doorstep_core::text::PersonName;
use doorstep_e2e::day::day_changes;
use doorstep_ingest::OfficeWrite;
use doorstep_office::admin::{self, CampaignCreated, CampaignSpec, MemberSpec, PlaceSpec};
use doorstep_store::Store;

pub(crate) const COMMUNES: usize = 40;
pub(crate) const VILLAGES: usize = 6;
/// Visited households per commune (day of field work).
pub(crate) const VISITED: usize = 830;
/// Households on the register not visited yet, per commune.
pub(crate) const NOT_VISITED: usize = 1_670;

pub(crate) fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Fills `store` with the province; the campaign made, and its member.
pub(crate) fn build<S: Store>(store: &S) -> (CampaignCreated, String) {
    let created = block_on(admin::create_campaign(
        store,
        CampaignSpec {
            name: "Province".into(),
            starts_on: Utc::now().date_naive(),
            ends_on: None,
            places: (0..COMMUNES)
                .map(|c| PlaceSpec {
                    commune: format!("Xa {c:02}"),
                    province: Some("Dien Bien".into()),
                    villages: (0..VILLAGES).map(|v| format!("Ban {c:02}-{v}")).collect(),
                })
                .collect(),
            packs: vec!["vneid".into()],
        },
        Utc::now(),
    ))
    .unwrap();
    let member = block_on(admin::add_member(
        store,
        MemberSpec {
            campaign: None,
            name: "Lò Văn Minh".into(),
            role: "volunteer".into(),
            unit: "youth_union".into(),
            phone: None,
            villages: Vec::new(),
        },
        Utc::now(),
    ))
    .unwrap()
    .to_string();
    for (n, (commune, _, villages)) in created.communes.iter().enumerate() {
        let villages: Vec<VillageId> = villages.iter().map(|v| v.0).collect();
        // A tablet of the commune pushes its day, as a device would.
        let code = block_on(admin::new_enrol_code(
            store,
            &member,
            &commune.to_string(),
            chrono::Duration::days(1),
            Utc::now(),
        ))
        .unwrap()
        .code;
        let key = store.token_key();
        let device: DeviceId = block_on(store.enroll(
            key.hash(&doorstep_store::auth::normalise_code(&code)),
            key.hash(&format!("token-{code}")),
            None,
            Utc::now(),
        ))
        .unwrap()
        .device_id;
        let changes = day_changes(device, 1, &villages, VISITED, Utc::now());
        let mut acked = 0;
        for chunk in changes.chunks(2_000) {
            block_on(store.push(device, acked, chunk.to_vec(), Utc::now()))
                .unwrap()
                .unwrap();
            acked += chunk.len() as u64;
        }
        // The rest of the register, not visited yet.
        let writes: Vec<OfficeWrite> = (0..NOT_VISITED)
            .map(|h| {
                let household = Household {
                    id: HouseholdId::new(),
                    village_id: villages[h % villages.len()],
                    head_name: PersonName::parse(&format!("Quàng Văn {n}-{h}")).unwrap(),
                    landmark: None,
                    phone: None,
                    members_count: Some(4),
                    language: None,
                    notes: None,
                    location: None,
                    created_at: Utc::now(),
                };
                OfficeWrite {
                    kind: Household::KIND,
                    id: household.entity_id(),
                    create: true,
                    fields: household.fields().into_iter().map(|(f, v)| (f.to_owned(), v)).collect(),
                    resolves_conflicts: false,
                }
            })
            .collect();
        for chunk in writes.chunks(5_000) {
            block_on(store.office_write(chunk.to_vec(), Utc::now())).unwrap();
        }
    }
    (created, member)
}
