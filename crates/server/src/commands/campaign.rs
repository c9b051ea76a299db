//! `campaign create`: a campaign with its communes and villages (or the
//! demo campaign). `campaign list` is [`super::list`].

use doorstep_office::admin::{self, CampaignSpec, PlaceSpec};

use super::Ctx;
use super::shared::{Failure, json, out};
use crate::cli::CampaignArgs;

pub(crate) async fn create(ctx: &Ctx, args: CampaignArgs) -> Result<(), Failure> {
    let (store, now) = (&ctx.store, ctx.now);
    let created = if args.demo {
        admin::create_demo_campaign(store, now).await?
    } else {
        admin::create_campaign(store, spec(args, now)?, now).await?
    };
    if ctx.json {
        return json(&created);
    }
    out(&format!("campaign {}", created.campaign_id))?;
    for (id, name, villages) in &created.communes {
        out(&format!("  commune {name} {id}"))?;
        for (vid, vname) in villages {
            out(&format!("    village {vname} {vid}"))?;
        }
    }
    Ok(())
}

/// The campaign the flags describe; no packs named means every built-in
/// pack for residents.
fn spec(args: CampaignArgs, now: chrono::DateTime<chrono::Utc>) -> Result<CampaignSpec, Failure> {
    let places = args
        .communes
        .iter()
        .map(|c| PlaceSpec::parse(c, args.province.as_deref()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CampaignSpec {
        name: args.name.unwrap_or_default(),
        starts_on: args.starts_on.unwrap_or_else(|| now.date_naive()),
        ends_on: args.ends_on,
        places,
        packs: if args.packs.is_empty() {
            doorstep_ingest::pack_catalog::resident_keys()
        } else {
            args.packs
        },
    })
}
