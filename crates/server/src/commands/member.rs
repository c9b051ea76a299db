//! `member add` and `member set-password`. `member list` is [`super::list`].

use doorstep_core::schema::EntityKind;
use doorstep_office::admin::{self, MemberSpec};

use super::Ctx;
use super::shared::{Failure, json, out};
use crate::cli::MemberArgs;

pub(crate) async fn add(ctx: &Ctx, args: MemberArgs) -> Result<(), Failure> {
    let spec = MemberSpec {
        campaign: args.campaign,
        name: args.name,
        role: args.role,
        unit: args.unit,
        phone: args.phone,
        villages: args.villages,
    };
    let id = admin::add_member(&ctx.store, spec, ctx.now).await?;
    if ctx.json {
        return json(&serde_json::json!({ "member_id": id }));
    }
    out(&format!("member {id}"))
}

/// `member set-password`: a lead's or admin's dashboard password, from
/// standard input, stored as an argon2id hash.
pub(crate) async fn set_password(ctx: &Ctx, member: &str) -> Result<(), Failure> {
    use doorstep_store::accounts::Accounts;
    let (id, known) = admin::find(&ctx.store, EntityKind::Member, member).await?;
    let role = known
        .state
        .value("role")
        .and_then(doorstep_core::schema::FieldValue::as_text)
        .unwrap_or_default()
        .to_owned();
    if !matches!(role.as_str(), "lead" | "admin") {
        return Err(Failure::Input(format!(
            "{member:?} is a {role}: only leads and admins sign in to the dashboard (member add --role lead)"
        )));
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Failure::Input(format!("reading the password from standard input: {e}")))?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    let hash = doorstep_store::password::hash_off_thread(password)
        .await
        .map_err(|e| Failure::Input(e.to_string()))?;
    ctx.store.set_password(id.to_string(), hash, ctx.now).await?;
    out("Password set; the member's open sessions have ended.")
}
