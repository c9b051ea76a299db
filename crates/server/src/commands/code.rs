//! `enrol-code new`: a one-time code, and its QR code, for a member's
//! tablet.

use chrono::Duration;
use doorstep_office::admin;
use qrcode::QrCode;
use qrcode::render::unicode;

use super::Ctx;
use super::shared::{Failure, json, out};
use crate::cli::CodeArgs;

pub(crate) async fn new(ctx: &Ctx, args: &CodeArgs) -> Result<(), Failure> {
    let valid = Duration::days(i64::from(args.days));
    let issued = admin::new_enrol_code(&ctx.store, &args.member, &args.commune, valid, ctx.now).await?;
    if ctx.json {
        return json(&issued);
    }
    out(&format!(
        "Enrolment code for {} ({}), commune {}:\n\n    {}\n\nValid until {} (UTC), once.",
        issued.member_name,
        issued.member_id,
        issued.commune_name,
        issued.code,
        issued.expires_at.format("%Y-%m-%d %H:%M")
    ))?;
    let server_url = args.server_url.as_deref();
    if let Ok(qr) = QrCode::new(issued.qr_payload(server_url).as_bytes()) {
        out(&qr.render::<unicode::Dense1x2>().quiet_zone(true).build())?;
    }
    out(&format!(
        "On the tablet: doorstep enroll --server {} --code {}",
        server_url.unwrap_or("http://SERVER:8080"),
        issued.code
    ))
}
