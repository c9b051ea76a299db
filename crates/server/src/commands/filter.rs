//! The filter of `report` and `export`, from the flags of
//! [`FilterArgs`].

use chrono::{DateTime, Utc};
use doorstep_core::schema::EntityKind;
use doorstep_office::admin;
use doorstep_office::export;
use doorstep_store::any::AnyStore;
use doorstep_store::report::{Filter, LOCAL_OFFSET_HOURS};

use super::shared::Failure;
use crate::cli::FilterArgs;

/// The filter, with the names of the places it names (for the export's
/// summary). Communes and villages are found by name or id, as everywhere
/// else.
pub(crate) async fn filter_of(
    store: &AnyStore,
    args: &FilterArgs,
    now: DateTime<Utc>,
) -> Result<(Filter, export::Scope), Failure> {
    let name = |known: &doorstep_ingest::Known| {
        known
            .state
            .value("name")
            .and_then(doorstep_core::schema::FieldValue::as_text)
            .unwrap_or_default()
            .to_owned()
    };
    if let (Some(from), Some(to)) = (args.from, args.to)
        && from > to
    {
        return Err(Failure::Input(format!("--from {from} is after --to {to}")));
    }
    let mut communes = Vec::new();
    let mut commune_names = Vec::new();
    for c in &args.commune {
        let (id, known) = admin::find(store, EntityKind::Commune, c).await?;
        communes.push(id.to_string());
        commune_names.push(name(&known));
    }
    let (village, village_name) = match &args.village {
        Some(v) => {
            let (id, known) = admin::find(store, EntityKind::Village, v).await?;
            (Some(id.to_string()), Some(name(&known)))
        }
        None => (None, None),
    };
    let today = args
        .today
        .unwrap_or_else(|| (now + chrono::Duration::hours(LOCAL_OFFSET_HOURS)).date_naive());
    let scope = export::Scope {
        communes: commune_names,
        village: village_name,
        from: args.from,
        to: args.to,
        today,
    };
    let filter = Filter {
        communes: (!communes.is_empty()).then_some(communes),
        village,
        from: args.from,
        to: args.to,
        today,
    };
    Ok((filter, scope))
}
