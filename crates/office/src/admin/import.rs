//! A household register imported as office writes, matched against the
//! villages and households the store already holds.

use super::*;

/// Whether an entity is there: created and not deleted.
fn live(known: &Known) -> bool {
    known.state.exists && !matches!(known.state.value("deleted"), Some(FieldValue::Bool(true)))
}

/// Every village with its commune's name, by commune then village name
/// (the order messages list them in).
async fn known_villages<S: Store>(store: &S) -> Result<Vec<KnownVillage>, AdminError> {
    let communes: HashMap<Uuid, String> = store
        .entities(EntityKind::Commune)
        .await?
        .into_iter()
        .map(|(id, k)| (id, text_of(&k, "name").unwrap_or_default().to_owned()))
        .collect();
    let mut villages: Vec<KnownVillage> = store
        .entities(EntityKind::Village)
        .await?
        .into_iter()
        .filter(|(_, k)| live(k))
        .filter_map(|(id, k)| {
            let commune_id: CommuneId = text_of(&k, "commune_id")?.parse().ok()?;
            Some(KnownVillage {
                id: VillageId::from_uuid(id),
                name: text_of(&k, "name")?.to_owned(),
                commune: communes.get(&commune_id.as_uuid()).cloned().unwrap_or_default(),
                commune_id,
            })
        })
        .collect();
    villages.sort_by_cached_key(|v| (match_key(&v.commune), match_key(&v.name)));
    Ok(villages)
}

/// Households on the register, as duplicate keys.
async fn existing_households<S: Store>(store: &S) -> Result<Vec<ExistingHousehold>, AdminError> {
    Ok(store
        .entities(EntityKind::Household)
        .await?
        .into_iter()
        .filter(|(_, k)| live(k))
        .filter_map(|(id, k)| {
            let village: VillageId = text_of(&k, "village_id")?.parse().ok()?;
            Some(ExistingHousehold {
                id: HouseholdId::from_uuid(id),
                key: HouseholdKey::new(
                    village,
                    text_of(&k, "head_name")?,
                    text_of(&k, "phone"),
                    text_of(&k, "landmark"),
                ),
            })
        })
        .collect())
}

/// Imports a commune's household register from the bytes of a CSV file
/// (the rules are `doorstep-register`'s, the same as a tablet's import).
///
/// Rows name villages the server knows (`options.commune` narrows the
/// search when the file has no commune column); rows repeating each other
/// or a household already on the register are duplicates. Every household
/// is written in one office write, so the import is all or nothing and the
/// households reach the tablets of their commune by the normal pull. A
/// file with bad rows writes nothing ([`AdminError::Register`] with the
/// report) unless `options.skip_bad_rows`; a dry run never writes.
pub async fn import_households<S: Store>(
    store: &S,
    bytes: &[u8],
    options: &ImportOptions,
    now: DateTime<Utc>,
) -> Result<ImportReport, AdminError> {
    let villages = known_villages(store).await?;
    let existing = existing_households(store).await?;
    let register = doorstep_register::read_register(bytes, &villages, &existing, options, now)?;
    let mut report = register.report;
    if options.dry_run || register.households.is_empty() {
        return Ok(report);
    }
    let writes = register.households.iter().map(|r| writes_of(&r.household)).collect();
    store.office_write(writes, now).await?;
    report.imported = register.households.len();
    // Counts only: names and phones never go to the log.
    tracing::info!(
        rows = report.rows,
        imported = report.imported,
        skipped = report.skipped,
        "household register imported"
    );
    Ok(report)
}
