//! What a team lead does at the commune office: create a campaign with its
//! places, add members, hand out enrolment codes, list and revoke devices.
//!
//! Everything the tablets must see is written as office changes
//! ([`Store::office_write`]), so it reaches them through the normal pull.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use doorstep_core::entities::{Campaign, Commune, Entity, Member, Village};
use doorstep_core::ids::{CampaignId, CommuneId, DeviceId, HouseholdId, MemberId, VillageId};
use doorstep_core::phone::Phone;
use doorstep_core::schema::{EntityKind, FieldValue};
use doorstep_core::text::{Key, PersonName, PlaceName, match_key};
use doorstep_core::vocab::{Role, Unit};
use serde::Serialize;
use uuid::Uuid;

use doorstep_register::{ExistingHousehold, HouseholdKey, ImportOptions, ImportReport, KnownVillage, RegisterError};

use doorstep_ingest::{Known, OfficeWrite};
use doorstep_store::auth;
use doorstep_store::{NewCode, OfficeError, Store, StoreError};

mod demo;
mod import;

pub use self::demo::create_demo_campaign;
pub use self::import::import_households;

/// An office command that failed: bad input (names what) or the database.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The input is wrong; nothing was written.
    #[error("{0}")]
    Input(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A household register that cannot be imported (bad encoding or
    /// header, or bad rows: the report lists them); nothing was written.
    #[error(transparent)]
    Register(#[from] RegisterError),
}

impl From<OfficeError> for AdminError {
    fn from(e: OfficeError) -> AdminError {
        match e {
            OfficeError::Invalid(m) => AdminError::Input(m),
            OfficeError::Store(s) => AdminError::Store(s),
        }
    }
}

fn input(what: impl std::fmt::Display) -> AdminError {
    AdminError::Input(what.to_string())
}

/// A commune and its villages, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceSpec {
    /// Commune name.
    pub commune: String,
    /// Province name.
    pub province: Option<String>,
    /// Village names.
    pub villages: Vec<String>,
}

impl PlaceSpec {
    /// A commune and its villages written as `Muong Lan=Bun,Ba Nam` (the
    /// command line's `--commune`, a line of the dashboard's form).
    pub fn parse(text: &str, province: Option<&str>) -> Result<PlaceSpec, AdminError> {
        let (commune, villages) = text.split_once('=').ok_or_else(|| {
            input(format!(
                "{:?}: write the commune, '=' and its villages: \"Muong Lan=Bun,Ba Nam\"",
                text.trim()
            ))
        })?;
        Ok(PlaceSpec {
            commune: commune.trim().to_owned(),
            province: province.map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned),
            villages: villages
                .split(',')
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect(),
        })
    }
}

/// A new campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignSpec {
    /// Its name.
    pub name: String,
    /// First day.
    pub starts_on: NaiveDate,
    /// Last day, if known.
    pub ends_on: Option<NaiveDate>,
    /// Communes and villages.
    pub places: Vec<PlaceSpec>,
    /// Checklist packs in use.
    pub packs: Vec<String>,
}

/// A commune made by `campaign create`: id, name, villages (id, name).
pub type CreatedCommune = (CommuneId, String, Vec<(VillageId, String)>);

/// What `campaign create` made.
#[derive(Debug, Clone, Serialize)]
pub struct CampaignCreated {
    /// The campaign id.
    pub campaign_id: CampaignId,
    /// Communes with their villages: (id, name, [(id, name)]).
    pub communes: Vec<CreatedCommune>,
}

fn writes_of<E: Entity>(entity: &E) -> OfficeWrite {
    OfficeWrite {
        kind: E::KIND,
        id: entity.entity_id(),
        create: true,
        fields: entity.fields().into_iter().map(|(f, v)| (f.to_owned(), v)).collect(),
        resolves_conflicts: false,
    }
}

/// Creates a campaign, its communes and villages.
pub async fn create_campaign<S: Store>(
    store: &S,
    spec: CampaignSpec,
    now: DateTime<Utc>,
) -> Result<CampaignCreated, AdminError> {
    if spec.places.is_empty() {
        return Err(input(
            "a campaign needs at least one commune (--commune \"Name=Village 1,Village 2\")",
        ));
    }
    let mut writes = Vec::new();
    let mut created = CampaignCreated {
        campaign_id: CampaignId::new(),
        communes: Vec::new(),
    };
    let place = |what: &str, raw: &str| PlaceName::parse(raw).map_err(|e| input(format!("{what} {raw:?}: {e}")));
    for p in &spec.places {
        let commune = Commune {
            id: CommuneId::new(),
            name: place("commune", &p.commune)?,
            province: p.province.as_deref().map(|v| place("province", v)).transpose()?,
        };
        writes.push(writes_of(&commune));
        let mut villages = Vec::new();
        for v in &p.villages {
            let village = Village {
                id: VillageId::new(),
                commune_id: commune.id,
                name: place("village", v)?,
            };
            writes.push(writes_of(&village));
            villages.push((village.id, v.clone()));
        }
        created.communes.push((commune.id, p.commune.clone(), villages));
    }
    let campaign = Campaign {
        id: created.campaign_id,
        name: place("campaign name", &spec.name)?,
        starts_on: spec.starts_on,
        ends_on: spec.ends_on,
        commune_ids: created.communes.iter().map(|c| c.0).collect(),
        pack_keys: spec
            .packs
            .iter()
            .map(|k| Key::parse(k).map_err(|e| input(format!("pack {k:?}: {e}"))))
            .collect::<Result<_, _>>()?,
    };
    writes.push(writes_of(&campaign));
    store.office_write(writes, now).await?;
    Ok(created)
}

/// A new member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSpec {
    /// Campaign id, or empty for the only campaign.
    pub campaign: Option<String>,
    /// Name.
    pub name: String,
    /// Role code (`volunteer`, `lead`, `admin`).
    pub role: String,
    /// Unit code (`youth_union`, `police`, ...).
    pub unit: String,
    /// Phone number.
    pub phone: Option<String>,
    /// Villages (names or ids) the member walks.
    pub villages: Vec<String>,
}

fn text_of<'a>(known: &'a Known, field: &str) -> Option<&'a str> {
    match known.state.value(field) {
        Some(FieldValue::Text(t)) => Some(t),
        _ => None,
    }
}

/// Finds one entity of a kind by id (or a 6+ character piece of it) or by
/// name (diacritics and case ignored).
pub async fn find<S: Store>(store: &S, kind: EntityKind, given: &str) -> Result<(Uuid, Known), AdminError> {
    let all = store.entities(kind).await?;
    let wanted = match_key(given);
    let by_id: Vec<_> = all
        .iter()
        .filter(|(id, _)| given.len() >= 6 && id.hyphenated().to_string().contains(&given.to_lowercase()))
        .collect();
    let by_name: Vec<_> = all
        .iter()
        .filter(|(_, k)| text_of(k, "name").is_some_and(|n| match_key(n) == wanted))
        .collect();
    let hits = if by_id.is_empty() { by_name } else { by_id };
    match hits.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(input(format!("no {kind} matches {given:?}"))),
        many => Err(input(format!(
            "{given:?} matches {} {kind} records; give more of the id",
            many.len()
        ))),
    }
}

/// Adds a member to a campaign.
pub async fn add_member<S: Store>(store: &S, spec: MemberSpec, now: DateTime<Utc>) -> Result<MemberId, AdminError> {
    let campaign = match &spec.campaign {
        Some(c) => find(store, EntityKind::Campaign, c).await?.0,
        None => {
            let all = store.entities(EntityKind::Campaign).await?;
            match all.as_slice() {
                [(id, _)] => *id,
                [] => {
                    return Err(input(
                        "there is no campaign yet: run `doorstep-server campaign create` first",
                    ));
                }
                _ => return Err(input("there are several campaigns: name one with --campaign")),
            }
        }
    };
    let mut village_ids = Vec::new();
    for v in &spec.villages {
        village_ids.push(VillageId::from_uuid(find(store, EntityKind::Village, v).await?.0));
    }
    let member = Member {
        id: MemberId::new(),
        campaign_id: CampaignId::from_uuid(campaign),
        name: PersonName::parse(&spec.name).map_err(|e| input(format!("name: {e}")))?,
        role: spec.role.parse::<Role>().map_err(|e| input(format!("role: {e}")))?,
        unit: spec.unit.parse::<Unit>().map_err(|e| input(format!("unit: {e}")))?,
        phone: spec
            .phone
            .as_deref()
            .map(Phone::parse)
            .transpose()
            .map_err(|e| input(format!("phone: {e}")))?,
        village_ids,
    };
    store.office_write(vec![writes_of(&member)], now).await?;
    Ok(member.id)
}

/// A code handed out, with what it is for.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedCode {
    /// The code as shown (only here; the server keeps its hash).
    pub code: String,
    /// The member.
    pub member_id: Uuid,
    /// The member's name.
    pub member_name: String,
    /// The commune.
    pub commune_id: Uuid,
    /// The commune's name.
    pub commune_name: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

impl IssuedCode {
    /// What the QR code carries: the server's address with the code when
    /// known (`doorstep:enrol?server=URL&code=CODE`), else the code alone.
    pub fn qr_payload(&self, server_url: Option<&str>) -> String {
        match server_url {
            Some(url) => format!("doorstep:enrol?server={url}&code={}", self.code),
            None => self.code.clone(),
        }
    }

    /// The QR code as an SVG picture (none if the payload does not fit).
    pub fn qr_svg(&self, server_url: Option<&str>) -> Option<String> {
        let qr = qrcode::QrCode::new(self.qr_payload(server_url).as_bytes()).ok()?;
        Some(
            qr.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(240, 240)
                .quiet_zone(true)
                .build(),
        )
    }
}

/// Makes a one-time enrolment code for a member's tablet in a commune.
pub async fn new_enrol_code<S: Store>(
    store: &S,
    member: &str,
    commune: &str,
    valid_for: Duration,
    now: DateTime<Utc>,
) -> Result<IssuedCode, AdminError> {
    let (member_id, member_known) = find(store, EntityKind::Member, member).await?;
    let (commune_id, commune_known) = find(store, EntityKind::Commune, commune).await?;
    let code = auth::new_code().map_err(|e| AdminError::Store(StoreError::Task(e.to_string())))?;
    let expires_at = now + valid_for;
    store
        .add_enrol_code(
            NewCode {
                code_hash: store.token_key().hash(&auth::normalise_code(&code)),
                member_id,
                commune_id,
                expires_at,
            },
            now,
        )
        .await?;
    Ok(IssuedCode {
        code,
        member_id,
        member_name: text_of(&member_known, "name").unwrap_or_default().to_owned(),
        commune_id,
        commune_name: text_of(&commune_known, "name").unwrap_or_default().to_owned(),
        expires_at,
    })
}

/// Revokes a device given by id or a 6+ character piece of it; with
/// `erase`, the tablet is also told to erase its data at its next contact
/// (a device revoked earlier can still be asked to erase).
pub async fn revoke_device<S: Store>(
    store: &S,
    given: &str,
    erase: bool,
    now: DateTime<Utc>,
) -> Result<DeviceId, AdminError> {
    let devices = store.devices().await?;
    let hits: Vec<_> = devices
        .iter()
        .filter(|d| given.len() >= 6 && d.id.to_string().contains(&given.to_lowercase()))
        .collect();
    let device = match hits.as_slice() {
        [one] => one.id,
        [] => return Err(input(format!("no enrolled device matches {given:?}"))),
        _ => return Err(input(format!("{given:?} matches several devices; give more of the id"))),
    };
    store.revoke(device, erase, now).await?;
    Ok(device)
}

/// Current values of every entity of a kind, as rows of text for export:
/// the header (`id` then the schema's fields) and one row per entity.
pub async fn table<S: Store>(store: &S, kind: EntityKind) -> Result<(Vec<String>, Vec<Vec<String>>), AdminError> {
    let fields: Vec<&str> = kind.fields().iter().map(|f| f.name).collect();
    let mut header = vec!["id".to_owned()];
    header.extend(fields.iter().map(|f| (*f).to_owned()));
    let rows = store
        .entities(kind)
        .await?
        .into_iter()
        .map(|(id, known)| {
            let mut row = vec![id.hyphenated().to_string()];
            row.extend(fields.iter().map(|f| match known.state.value(f) {
                None | Some(FieldValue::Null) => String::new(),
                Some(FieldValue::Bool(b)) => b.to_string(),
                Some(FieldValue::Int(i)) => i.to_string(),
                Some(FieldValue::Text(t)) => t.clone(),
            }));
            row
        })
        .collect();
    Ok((header, rows))
}

/// Names of entities by id, for lists.
pub async fn names<S: Store>(store: &S, kind: EntityKind) -> Result<HashMap<Uuid, String>, AdminError> {
    Ok(store
        .entities(kind)
        .await?
        .into_iter()
        .map(|(id, k)| (id, text_of(&k, "name").unwrap_or_default().to_owned()))
        .collect())
}

/// A campaign as the office reads it: its days, places and packs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CampaignSummary {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// First day (`YYYY-MM-DD`).
    pub starts_on: String,
    /// Last day, if set.
    pub ends_on: Option<String>,
    /// Its communes: id, name, and the names of their villages.
    pub communes: Vec<(Uuid, String, Vec<String>)>,
    /// The keys of its checklist packs.
    pub packs: Vec<String>,
}

/// Every campaign that is not deleted, by first day, with its communes and
/// their villages (sorted by name).
pub async fn campaigns<S: Store>(store: &S) -> Result<Vec<CampaignSummary>, AdminError> {
    let live = |k: &Known| !matches!(k.state.value("deleted"), Some(FieldValue::Bool(true)));
    let list = |k: &Known, field: &str| -> Vec<String> {
        text_of(k, field)
            .and_then(|t| serde_json::from_str::<Vec<String>>(t).ok())
            .unwrap_or_default()
    };
    let communes = names(store, EntityKind::Commune).await?;
    let mut villages: HashMap<String, Vec<String>> = HashMap::new();
    for (_, v) in store.entities(EntityKind::Village).await? {
        if let (true, Some(commune)) = (live(&v), text_of(&v, "commune_id")) {
            villages
                .entry(commune.to_owned())
                .or_default()
                .push(text_of(&v, "name").unwrap_or_default().to_owned());
        }
    }
    let mut out: Vec<CampaignSummary> = store
        .entities(EntityKind::Campaign)
        .await?
        .into_iter()
        .filter(|(_, k)| live(k))
        .map(|(id, k)| CampaignSummary {
            id,
            name: text_of(&k, "name").unwrap_or_default().to_owned(),
            starts_on: text_of(&k, "starts_on").unwrap_or_default().to_owned(),
            ends_on: text_of(&k, "ends_on").map(str::to_owned),
            communes: list(&k, "commune_ids")
                .into_iter()
                .filter_map(|c| {
                    let id = Uuid::parse_str(&c).ok()?;
                    let mut names = villages.get(&c).cloned().unwrap_or_default();
                    names.sort();
                    Some((id, communes.get(&id).cloned().unwrap_or_default(), names))
                })
                .collect(),
            packs: list(&k, "pack_keys"),
        })
        .collect();
    out.sort_by(|a, b| a.starts_on.cmp(&b.starts_on).then_with(|| a.name.cmp(&b.name)));
    Ok(out)
}
