//! What the stories stand on: a campaign of two communes made by the
//! office, and tablets enrolled in them that write change records the way
//! the app does (typed entities, derived change ids, a clock of their own,
//! gap-free seqs).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use doorstep_core::change::{Change, ChangeOp, FieldWrite, Version};
use doorstep_core::entities::{ChecklistRun, Entity, Household, Person, StepEvent, StepStatus, Visit};
use doorstep_core::hlc::{HlcClock, wall_millis};
use doorstep_core::ids::{ChangeId, ChecklistRunId, DeviceId, HouseholdId, PersonId, StepEventId, VillageId, VisitId};
use doorstep_core::protocol::PackFile;
use doorstep_core::schema::{EntityKind, FieldValue};
use doorstep_core::text::{Key, Landmark, PersonName};
use doorstep_core::vocab::VisitOutcome;
use doorstep_ingest::{Refusal, pack_catalog};
use doorstep_office::admin::{self, CampaignSpec, MemberSpec, PlaceSpec};
use doorstep_store::{NewCode, Page, Pushed, Store};
use uuid::Uuid;

/// The stories' "now": 10:00 on 20 November 2026 in Vietnam.
pub(crate) fn now() -> DateTime<Utc> {
    at("2026-11-20T03:00:00Z")
}

/// A moment given in RFC 3339.
pub(crate) fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("a valid time in a story")
        .with_timezone(&Utc)
}

/// The stories' local day (`now` in UTC+7).
pub(crate) fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).expect("a date")
}

/// Text of a value, for assertions.
pub(crate) fn text(value: Option<&FieldValue>) -> Option<&str> {
    value.and_then(FieldValue::as_text)
}

/// An id as the stores and reports write it.
pub(crate) fn id_text(id: Uuid) -> String {
    id.hyphenated().to_string()
}

/// A bundled checklist pack.
pub(crate) fn pack(key: &str) -> PackFile {
    pack_catalog::bundled()
        .into_iter()
        .find(|f| f.key == key)
        .unwrap_or_else(|| panic!("{key} is a bundled pack"))
}

/// The step ids of a pack, in order.
pub(crate) fn steps(file: &PackFile) -> Vec<String> {
    doorstep_core::pack::Pack::from_toml(&file.toml)
        .expect("a bundled pack parses")
        .steps
        .into_iter()
        .map(|s| s.id)
        .collect()
}

/// A commune of the campaign and its villages.
#[derive(Debug, Clone)]
pub(crate) struct Commune {
    pub(crate) id: Uuid,
    pub(crate) villages: Vec<Uuid>,
}

impl Commune {
    /// The scope its tablets pull.
    pub(crate) fn scope(&self) -> String {
        id_text(self.id)
    }
}

/// The campaign "Mường Lạn" (villages Bun, Khin) and "Chiềng Sinh" (Tam
/// Tu), made by `doorstep_office::admin`, with one volunteer in each.
#[derive(Debug, Clone)]
pub(crate) struct World {
    pub(crate) campaign: Uuid,
    pub(crate) muong_lan: Commune,
    pub(crate) chieng_sinh: Commune,
    /// A volunteer of Mường Lạn.
    pub(crate) thanh: Uuid,
    /// A volunteer of Chiềng Sinh.
    pub(crate) nga: Uuid,
}

impl World {
    pub(crate) async fn create<S: Store>(store: &S) -> World {
        let spec = CampaignSpec {
            name: "Đi từng ngõ, gõ từng nhà".to_owned(),
            starts_on: NaiveDate::from_ymd_opt(2026, 11, 1).expect("a date"),
            ends_on: None,
            places: vec![
                PlaceSpec::parse("Mường Lạn=Bun,Khin", Some("Sơn La")).expect("places"),
                PlaceSpec::parse("Chiềng Sinh=Tam Tu", Some("Sơn La")).expect("places"),
            ],
            packs: vec!["vneid".to_owned(), "vssid".to_owned()],
        };
        let created = admin::create_campaign(store, spec, now())
            .await
            .expect("campaign created");
        let commune = |i: usize| Commune {
            id: created.communes[i].0.as_uuid(),
            villages: created.communes[i].2.iter().map(|(v, _)| v.as_uuid()).collect(),
        };
        let (muong_lan, chieng_sinh) = (commune(0), commune(1));
        let thanh = member(store, "Lò Văn Thành", &muong_lan.villages[..1]).await;
        let nga = member(store, "Lò Thị Nga", &chieng_sinh.villages).await;
        World {
            campaign: created.campaign_id.as_uuid(),
            muong_lan,
            chieng_sinh,
            thanh,
            nga,
        }
    }
}

/// Adds a volunteer of the youth union who walks `villages`.
pub(crate) async fn member<S: Store>(store: &S, name: &str, villages: &[Uuid]) -> Uuid {
    let spec = MemberSpec {
        campaign: None,
        name: name.to_owned(),
        role: "volunteer".to_owned(),
        unit: "youth_union".to_owned(),
        phone: None,
        villages: villages.iter().map(|v| id_text(*v)).collect(),
    };
    admin::add_member(store, spec, now())
        .await
        .expect("member added")
        .as_uuid()
}

/// A one-day enrolment code for `member`'s tablet in `commune`: the code
/// as typed and the hash the store keeps.
pub(crate) async fn code<S: Store>(store: &S, member: Uuid, commune: Uuid, made: DateTime<Utc>) -> (String, String) {
    let code = doorstep_store::auth::new_code().expect("randomness");
    let hash = store.token_key().hash(&doorstep_store::auth::normalise_code(&code));
    let new = NewCode {
        code_hash: hash.clone(),
        member_id: member,
        commune_id: commune,
        expires_at: made + Duration::days(1),
    };
    store.add_enrol_code(new, made).await.expect("code stored");
    (code, hash)
}

/// An enrolled tablet and the state its app keeps: next seq, clock and
/// what the server confirmed.
#[derive(Debug, Clone)]
pub(crate) struct Tablet {
    pub(crate) device: DeviceId,
    pub(crate) scope: String,
    pub(crate) token_hash: String,
    seq: u64,
    clock: HlcClock,
    /// The last seq the server confirmed.
    pub(crate) acked: u64,
}

impl Tablet {
    /// Enrols a tablet for `member` in `commune` with a fresh code.
    pub(crate) async fn enrol<S: Store>(store: &S, member: Uuid, commune: &Commune) -> Tablet {
        let (_, hash) = code(store, member, commune.id, now()).await;
        let token_hash = store
            .token_key()
            .hash(&doorstep_store::auth::new_token().expect("randomness"));
        let enrolled = store
            .enroll(hash, token_hash.clone(), Some("tablet".to_owned()), now())
            .await
            .expect("enrolled");
        Tablet {
            device: enrolled.device_id,
            scope: commune.scope(),
            token_hash,
            seq: 0,
            clock: HlcClock::resume(doorstep_core::hlc::Hlc::ZERO),
            acked: 0,
        }
    }

    /// A copy of this tablet's files on another tablet: the same device
    /// and outbox position, its own future.
    pub(crate) fn copy(&self) -> Tablet {
        self.clone()
    }

    /// The next change record of this tablet.
    pub(crate) fn change(&mut self, kind: EntityKind, id: Uuid, op: ChangeOp, fields: Vec<FieldWrite>) -> Change {
        self.seq += 1;
        Change {
            id: ChangeId::derive(self.device, self.seq),
            device: self.device,
            seq: self.seq,
            hlc: self.clock.tick(wall_millis(now())),
            entity: kind,
            entity_id: id,
            op,
            fields,
        }
    }

    fn create<E: Entity>(&mut self, entity: &E) -> Change {
        let fields = entity
            .fields()
            .into_iter()
            .map(|(field, value)| FieldWrite {
                field: field.to_owned(),
                value,
                base: None,
                resolves: Vec::new(),
            })
            .collect();
        self.change(E::KIND, entity.entity_id(), ChangeOp::Create, fields)
    }

    pub(crate) fn household(&mut self, village: Uuid, head: &str) -> (Uuid, Change) {
        self.household_by(village, head, None)
    }

    /// A household found by a landmark ("next to the school").
    pub(crate) fn household_by(&mut self, village: Uuid, head: &str, landmark: Option<&str>) -> (Uuid, Change) {
        let h = Household {
            id: HouseholdId::new(),
            village_id: VillageId::from_uuid(village),
            head_name: PersonName::parse(head).expect("a name"),
            landmark: landmark.map(|l| Landmark::parse(l).expect("a landmark")),
            phone: None,
            members_count: None,
            language: None,
            notes: None,
            location: None,
            created_at: now(),
        };
        (h.id.as_uuid(), self.create(&h))
    }

    pub(crate) fn person(&mut self, household: Uuid, name: &str) -> (Uuid, Change) {
        let p = Person {
            id: PersonId::new(),
            household_id: HouseholdId::from_uuid(household),
            name: PersonName::parse(name).expect("a name"),
            birth_year: None,
            phone: None,
            phone_kind: None,
            phone_in_own_name: None,
            chip_id_card: None,
            notes: None,
        };
        (p.id.as_uuid(), self.create(&p))
    }

    /// A visit by `member` started at `started`; `referred_by` is the
    /// neighbour who taught the household.
    pub(crate) fn visit(
        &mut self,
        household: Uuid,
        member: Option<Uuid>,
        started: DateTime<Utc>,
        outcome: VisitOutcome,
        follow_up_on: Option<NaiveDate>,
        referred_by: Option<Uuid>,
    ) -> (Uuid, Change) {
        let v = Visit {
            id: VisitId::new(),
            household_id: HouseholdId::from_uuid(household),
            member_id: member.map(doorstep_core::ids::MemberId::from_uuid),
            device_id: self.device,
            started_at: started,
            ended_at: None,
            outcome,
            follow_up_on,
            notes: None,
            referred_by: referred_by.map(PersonId::from_uuid),
        };
        (v.id.as_uuid(), self.create(&v))
    }

    pub(crate) fn run(
        &mut self,
        visit: Uuid,
        person: Uuid,
        household: Uuid,
        pack: &PackFile,
        started: DateTime<Utc>,
    ) -> (Uuid, Change) {
        let r = ChecklistRun {
            id: ChecklistRunId::new(),
            visit_id: VisitId::from_uuid(visit),
            person_id: PersonId::from_uuid(person),
            household_id: HouseholdId::from_uuid(household),
            pack_key: Key::parse(&pack.key).expect("a pack key"),
            pack_version: pack.version,
            started_at: started,
        };
        (r.id.as_uuid(), self.create(&r))
    }

    /// A step event: its id is the id of the change that creates it.
    pub(crate) fn step(&mut self, run: Uuid, step: &str, status: StepStatus) -> Change {
        let e = StepEvent {
            id: StepEventId::from_uuid(ChangeId::derive(self.device, self.seq + 1).as_uuid()),
            run_id: ChecklistRunId::from_uuid(run),
            step_id: Key::parse(step).expect("a step id"),
            status,
            at: now(),
            note: None,
        };
        self.create(&e)
    }

    /// An update of one field over `base` (the version this tablet saw).
    pub(crate) fn update(
        &mut self,
        kind: EntityKind,
        id: Uuid,
        field: &str,
        value: FieldValue,
        base: Option<Version>,
    ) -> Change {
        if let Some(b) = base {
            self.clock.observe_trusted(b.hlc);
        }
        let write = FieldWrite {
            field: field.to_owned(),
            value,
            base,
            resolves: Vec::new(),
        };
        self.change(kind, id, ChangeOp::Update, vec![write])
    }

    /// Pushes as the app does (from what the server confirmed) and
    /// expects the batch to be taken as a whole.
    pub(crate) async fn push<S: Store>(&mut self, store: &S, changes: Vec<Change>) -> Pushed {
        let pushed = self.try_push(store, changes).await.expect("the batch is taken");
        self.acked = pushed.last_applied_seq;
        pushed
    }

    /// Pushes and returns the store's answer, whatever it is.
    pub(crate) async fn try_push<S: Store>(&self, store: &S, changes: Vec<Change>) -> Result<Pushed, Refusal> {
        store
            .push(self.device, self.acked, changes, now())
            .await
            .expect("the database answers")
    }

    /// Every change this tablet's pull brings from `after`, in pages of
    /// `limit`, and the cursor after the last page.
    pub(crate) async fn pull_all<S: Store>(&self, store: &S, after: u64, limit: usize) -> (Vec<Change>, u64) {
        let mut cursor = after;
        let mut out = Vec::new();
        for _ in 0..10_000 {
            let page: Page = store
                .pull(self.scope.clone(), self.device, cursor, limit, usize::MAX)
                .await
                .expect("the database answers");
            out.extend(page.changes);
            cursor = page.next_cursor;
            if !page.has_more {
                return (out, cursor);
            }
        }
        panic!("a pull that never ends");
    }
}
