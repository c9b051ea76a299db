//! Sign-in state: the session cookie (HttpOnly, SameSite=Strict, 12 hours),
//! its keyed hash in the store, the CSRF token every form carries, and the
//! login form's own CSRF cookie (double submit) before there is a session.

use axum::http::{HeaderMap, HeaderValue, header};
use chrono::{DateTime, Duration, Utc};
use cookie::Cookie;

use doorstep_store::StoreError;
use doorstep_store::accounts::{Account, Accounts, Session};
use doorstep_store::auth::TokenKey;

/// The session cookie.
pub const SESSION_COOKIE: &str = "doorstep_session";
/// The login form's CSRF cookie.
pub const LOGIN_COOKIE: &str = "doorstep_login";
/// The language cookie.
pub const LANG_COOKIE: &str = "doorstep_lang";
/// How long a session lasts.
pub const SESSION_HOURS: i64 = 12;

/// Who is signed in, and what they may see.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The member.
    pub account: Account,
    /// The session's CSRF token.
    pub csrf: String,
    /// `None` for an admin (every commune), else the lead's communes.
    pub communes: Option<Vec<String>>,
}

impl SignedIn {
    /// Whether this member may see a commune.
    pub fn may_see(&self, commune: &str) -> bool {
        self.communes.as_ref().is_none_or(|c| c.iter().any(|x| x == commune))
    }
}

/// 256 random bits as hex.
pub fn random_token() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| e.to_string())?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A cookie's value from the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, path `/`.
pub fn set_cookie(name: &str, value: &str, max_age_seconds: i64) -> Option<HeaderValue> {
    let c = Cookie::build((name.to_owned(), value.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .max_age(cookie::time::Duration::seconds(max_age_seconds))
        .build();
    HeaderValue::from_str(&c.to_string()).ok()
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The signed-in member of a request, if any.
pub async fn signed_in<S: Accounts>(
    store: &S,
    key: &TokenKey,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<Option<SignedIn>, StoreError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some(session) = store.session(key.hash(&token), now).await? else {
        return Ok(None);
    };
    let accounts = store.accounts().await?;
    let Some(account) = accounts.into_iter().find(|a| a.member_id == session.member_id) else {
        return Ok(None);
    };
    let communes = match account.role.as_str() {
        "admin" => None,
        "lead" => Some(account.communes.clone()),
        _ => return Ok(None), // the role changed since sign-in
    };
    Ok(Some(SignedIn {
        account,
        csrf: session.csrf,
        communes,
    }))
}

/// Starts a session for a member: returns the cookie to set.
pub async fn start<S: Accounts>(
    store: &S,
    key: &TokenKey,
    member_id: String,
    now: DateTime<Utc>,
) -> Result<HeaderValue, String> {
    let token = random_token()?;
    let csrf = random_token()?;
    let session = Session {
        member_id,
        csrf,
        expires_at: now + Duration::hours(SESSION_HOURS),
    };
    store
        .start_session(key.hash(&token), session, now)
        .await
        .map_err(|e| e.to_string())?;
    set_cookie(SESSION_COOKIE, &token, SESSION_HOURS * 3600).ok_or_else(|| "cookie".to_owned())
}
