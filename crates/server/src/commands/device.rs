//! `device list` and `device revoke`.

use doorstep_core::schema::EntityKind;
use doorstep_office::admin;
use doorstep_store::Store;

use super::Ctx;
use super::shared::{Failure, json, out};

/// One line per enrolled tablet: its member, commune, last sync and what
/// became of it.
pub(crate) async fn list(ctx: &Ctx) -> Result<(), Failure> {
    let store = &ctx.store;
    let devices = store.devices().await?;
    if ctx.json {
        return json(&devices);
    }
    let communes = admin::names(store, EntityKind::Commune).await?;
    let members = admin::names(store, EntityKind::Member).await?;
    if devices.is_empty() {
        return out("no tablet is enrolled yet");
    }
    for d in devices {
        let commune = d
            .commune_id
            .as_deref()
            .and_then(|c| uuid::Uuid::parse_str(c).ok())
            .and_then(|c| communes.get(&c).cloned())
            .unwrap_or_default();
        let member = d.member_id.and_then(|m| members.get(&m).cloned()).unwrap_or_default();
        out(&format!(
            "{}  {:<12} {:<20} {:<16} last sync {:<24} seq {}{}",
            d.id,
            d.label.as_deref().unwrap_or("-"),
            member,
            commune,
            d.last_seen_at.as_deref().unwrap_or("never"),
            d.last_applied_seq,
            revoked_note(&d)
        ))?;
    }
    Ok(())
}

/// The end of a `device list` line: a copy seen; revoked, erase asked,
/// erase done.
fn revoked_note(d: &doorstep_store::DeviceRecord) -> String {
    let copied = d.copied_at.as_deref().map_or_else(String::new, |at| {
        format!(
            "  COPY SEEN {at} ({} changes set aside; enrol the copy again)",
            d.copied_kept
        )
    });
    copied
        + &match (&d.revoked_at, &d.erase_requested_at, &d.erased_at) {
            (None, _, _) => String::new(),
            (Some(_), None, _) => "  REVOKED".to_owned(),
            (Some(_), Some(asked), None) => format!("  REVOKED, ERASE ASKED {asked} (not yet done)"),
            (Some(_), Some(_), Some(done)) => format!(
                "  REVOKED, ERASED {done} ({} unsent changes lost)",
                d.erased_unsent.unwrap_or(0)
            ),
        }
}

/// `device revoke`: the token stops working at once; with `--wipe` the
/// tablet is also told to erase its data.
pub(crate) async fn revoke(ctx: &Ctx, device: &str, wipe: bool) -> Result<(), Failure> {
    let id = admin::revoke_device(&ctx.store, device, wipe, ctx.now).await?;
    if wipe {
        out(&format!(
            "device {id} revoked: its token no longer works; at its next contact it erases its data and reports back (see `device list`)"
        ))
    } else {
        out(&format!(
            "device {id} revoked: its token no longer works; its data stays on it"
        ))
    }
}
