//! The demo campaign built into the binary (`assets/demo/campaign.toml`),
//! for `serve --demo` and the walk-throughs.

use super::*;

const DEMO_TOML: &str = include_str!("../../../../assets/demo/campaign.toml");

#[derive(serde::Deserialize)]
struct DemoFile {
    campaign: DemoCampaign,
    communes: Vec<DemoCommune>,
    members: Vec<DemoMember>,
}

#[derive(serde::Deserialize)]
struct DemoCampaign {
    name: String,
    starts_on: NaiveDate,
}

#[derive(serde::Deserialize)]
struct DemoCommune {
    name: String,
    province: String,
    villages: Vec<DemoVillage>,
}

#[derive(serde::Deserialize)]
struct DemoVillage {
    name: String,
}

#[derive(serde::Deserialize)]
struct DemoMember {
    name: String,
    role: String,
    unit: String,
    villages: Vec<String>,
}

/// The demo campaign of `assets/demo/campaign.toml`: its communes,
/// villages and members (households are registered by import or by the
/// tablets).
pub async fn create_demo_campaign<S: Store>(store: &S, now: DateTime<Utc>) -> Result<CampaignCreated, AdminError> {
    let demo: DemoFile = toml::from_str(DEMO_TOML).map_err(|e| input(format!("assets/demo/campaign.toml: {e}")))?;
    let spec = CampaignSpec {
        name: demo.campaign.name,
        starts_on: demo.campaign.starts_on,
        ends_on: None,
        places: demo
            .communes
            .into_iter()
            .map(|c| PlaceSpec {
                commune: c.name,
                province: Some(c.province),
                villages: c.villages.into_iter().map(|v| v.name).collect(),
            })
            .collect(),
        packs: doorstep_ingest::pack_catalog::resident_keys(),
    };
    let created = create_campaign(store, spec, now).await?;
    for m in demo.members {
        add_member(
            store,
            MemberSpec {
                campaign: Some(created.campaign_id.to_string()),
                name: m.name,
                role: m.role,
                unit: m.unit,
                phone: None,
                villages: m.villages,
            },
            now,
        )
        .await?;
    }
    Ok(created)
}
