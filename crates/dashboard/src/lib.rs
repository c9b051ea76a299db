//! `doorstep-dashboard`: the team-lead dashboard, server-rendered pages
//! (askama templates in `templates/`, words in `locales/` for Vietnamese,
//! English and Arabic, whose pages are right to left; charts as inline SVG
//! from [`chart`]), no JavaScript needed and nothing loaded from
//! outside, so it works on an office LAN without internet and prints well.
//!
//! Sign-in: members with the `lead` or `admin` role and a password
//! (`doorstep-server member set-password`). A lead sees the communes of
//! their villages; an admin sees all. Every form carries the session's
//! CSRF token; the login form a double-submit cookie. Handlers only check
//! access, call the store and fill a template.
//!
//! **Boundary**: generic over [`Store`] and [`Accounts`]; no SQL and no
//! database driver here. Office actions go through `doorstep-office`.

mod campaigns;
pub mod chart;
mod conflicts;
mod exports;
mod members;
mod overview;
mod page;
pub mod session;
mod tablets;
pub mod texts;
mod walk;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Form, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::Deserialize;

use self::session::{LANG_COOKIE, LOGIN_COOKIE, SESSION_COOKIE, SignedIn};
use self::texts::Texts;
use doorstep_office::attempts::Attempts;
use doorstep_store::Store;
use doorstep_store::accounts::Accounts;

/// Failed sign-ins allowed per address in ten minutes.
const LOGIN_ATTEMPTS: u32 = 10;
const LOGIN_WINDOW: Duration = Duration::from_secs(600);

/// What the dashboard's handlers share.
#[derive(Debug)]
pub struct Dashboard<S> {
    /// The database.
    pub store: S,
    attempts: Attempts,
}

impl<S: Store + Accounts> Dashboard<S> {
    /// The dashboard over a store.
    pub fn new(store: S) -> Arc<Dashboard<S>> {
        Arc::new(Dashboard {
            store,
            attempts: Attempts::default(),
        })
    }
}

/// The dashboard's routes.
pub fn router<S: Store + Accounts>(dash: Arc<Dashboard<S>>) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/overview") }))
        .route("/static/dashboard.css", get(css))
        .route("/login", get(login_form).post(login::<S>))
        .route("/logout", post(logout::<S>))
        .route("/overview", get(overview::overview::<S>))
        .route("/follow-ups", get(walk::follow_ups::<S>))
        .route("/peer-spread", get(walk::peer_spread::<S>))
        .route("/exports", get(exports::exports::<S>))
        .route("/exports/download", get(exports::download::<S>))
        .route("/conflicts", get(conflicts::conflicts::<S>))
        .route("/conflicts/resolve", post(conflicts::resolve::<S>))
        .route("/devices", get(tablets::devices::<S>))
        .route("/devices/revoke", post(tablets::revoke::<S>))
        .route("/devices/code", post(tablets::new_code::<S>))
        .route("/devices/code/cancel", post(tablets::cancel_code::<S>))
        .route("/campaigns", get(campaigns::campaigns::<S>))
        .route("/campaigns/create", post(campaigns::create::<S>))
        .route("/members", get(members::members::<S>))
        .route("/members/add", post(members::add_member::<S>))
        .route("/members/password", post(members::set_password::<S>))
        .route("/members/own-password", post(members::own_password::<S>))
        .layer(axum::middleware::from_fn(secure_cookies))
        .with_state(dash)
}

/// Behind a proxy that ends TLS (`X-Forwarded-Proto: https`) every cookie
/// is also `Secure`, so the browser never sends it over plain HTTP. On the
/// office LAN, served over plain HTTP, cookies cannot be `Secure` or the
/// browser would drop them.
async fn secure_cookies(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let https = request
        .headers()
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    let mut response = next.run(request).await;
    if https {
        let headers = response.headers_mut();
        let cookies: Vec<HeaderValue> = headers.get_all(header::SET_COOKIE).iter().cloned().collect();
        headers.remove(header::SET_COOKIE);
        for cookie in cookies {
            let secure = cookie
                .to_str()
                .ok()
                .and_then(|c| HeaderValue::from_str(&format!("{c}; Secure")).ok());
            headers.append(header::SET_COOKIE, secure.unwrap_or(cookie));
        }
    }
    response
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("../static/dashboard.css"),
    )
        .into_response()
}

/// The language of a request: `?lang=`, then the cookie, then Vietnamese
/// (one of [`texts::LANGS`]; anything else is Vietnamese).
pub(crate) fn lang_of(headers: &HeaderMap, asked: Option<&str>) -> &'static str {
    let wanted = asked
        .map(str::to_owned)
        .or_else(|| session::cookie(headers, LANG_COOKIE));
    Texts::of(wanted.as_deref().unwrap_or_default()).lang
}

/// Query parameters every page takes.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LangQuery {
    lang: Option<String>,
}

/// A page with its language cookie set when `?lang=` chose one.
pub(crate) fn html(body: String, lang_asked: Option<&str>, status: StatusCode) -> Response {
    let mut response = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    if let Some(lang) = lang_asked.filter(|l| texts::LANGS.contains(l))
        && let Some(v) = session::set_cookie(LANG_COOKIE, lang, 365 * 24 * 3600)
    {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Where to go when not signed in.
pub(crate) fn to_login() -> Response {
    Redirect::to("/login").into_response()
}

/// A failure of the server itself, as a page.
pub(crate) fn failure(lang: &str, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "dashboard");
    let t = Texts::of(lang);
    page::message(
        t,
        None,
        t.get("message.error"),
        &e.to_string(),
        StatusCode::INTERNAL_SERVER_ERROR,
    )
}

/// The signed-in member, or the response to send instead.
pub(crate) async fn require<S: Store + Accounts>(
    dash: &Dashboard<S>,
    headers: &HeaderMap,
    lang: &str,
) -> Result<SignedIn, Response> {
    match session::signed_in(&dash.store, dash.store.token_key(), headers, Utc::now()).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(to_login()),
        Err(e) => Err(failure(lang, e)),
    }
}

/// What every signed-in page starts from: its language and words, and who
/// is signed in. Without a session the page answers with the sign-in form.
pub(crate) struct Lead {
    /// The page's language.
    pub lang: &'static str,
    /// Its words.
    pub t: &'static Texts,
    /// Who is signed in.
    pub me: SignedIn,
}

impl<S: Store + Accounts> FromRequestParts<Arc<Dashboard<S>>> for Lead {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, dash: &Arc<Dashboard<S>>) -> Result<Lead, Response> {
        let asked = Query::<LangQuery>::try_from_uri(&parts.uri).ok().and_then(|q| q.0.lang);
        let lang = lang_of(&parts.headers, asked.as_deref());
        let me = require(dash, &parts.headers, lang).await?;
        Ok(Lead {
            lang,
            t: Texts::of(lang),
            me,
        })
    }
}

async fn login_form(headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let lang = lang_of(&headers, q.lang.as_deref());
    login_page(lang, q.lang.as_deref(), None, "", StatusCode::OK)
}

fn login_page(lang: &str, lang_asked: Option<&str>, error: Option<&str>, name: &str, status: StatusCode) -> Response {
    let Ok(csrf) = session::random_token() else {
        return failure(lang, "no randomness for the sign-in form");
    };
    let t = Texts::of(lang);
    let body = page::render_login(t, &csrf, error, name);
    let mut response = html(body, lang_asked, status);
    if let Some(v) = session::set_cookie(LOGIN_COOKIE, &csrf, 3600) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    name: String,
    password: String,
    csrf: String,
}

async fn login<S: Store + Accounts>(
    State(dash): State<Arc<Dashboard<S>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = lang_of(&headers, None);
    let t = Texts::of(lang);
    let cookie_csrf = session::cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if cookie_csrf.is_empty() || !session::same_secret(&cookie_csrf, &form.csrf) {
        return page::message(
            t,
            None,
            t.get("login.title"),
            t.get("error.csrf"),
            StatusCode::FORBIDDEN,
        );
    }
    let ip = peer.ip();
    if dash.attempts.blocked(ip, LOGIN_ATTEMPTS, LOGIN_WINDOW) {
        return login_page(
            lang,
            None,
            Some(t.get("login.blocked")),
            &form.name,
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    dash.attempts.attempt(ip);
    let accounts = match dash.store.accounts().await {
        Ok(a) => a,
        Err(e) => return failure(lang, e),
    };
    // One answer for every way a sign-in fails, so it tells nothing.
    let refused = || {
        login_page(
            lang,
            None,
            Some(t.get("login.failed")),
            &form.name,
            StatusCode::UNAUTHORIZED,
        )
    };
    let wanted = doorstep_core::text::match_key(&form.name);
    let mut matching = accounts
        .into_iter()
        .filter(|a| matches!(a.role.as_str(), "lead" | "admin") && a.has_password)
        .filter(|a| doorstep_core::text::match_key(&a.name) == wanted);
    let (Some(account), None) = (matching.next(), matching.next()) else {
        return refused();
    };
    let stored = match dash.store.password_hash(account.member_id.clone()).await {
        Ok(Some(h)) => h,
        Ok(None) => {
            return refused();
        }
        Err(e) => return failure(lang, e),
    };
    if !doorstep_store::password::verify_off_thread(form.password, stored).await {
        return refused();
    }
    dash.attempts.succeeded(ip);
    match session::start(&dash.store, dash.store.token_key(), account.member_id, Utc::now()).await {
        Ok(cookie) => {
            let mut response = Redirect::to("/overview").into_response();
            response.headers_mut().append(header::SET_COOKIE, cookie);
            if let Some(gone) = session::set_cookie(LOGIN_COOKIE, "", 0) {
                response.headers_mut().append(header::SET_COOKIE, gone);
            }
            response
        }
        Err(e) => failure(lang, e),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct CsrfForm {
    csrf: String,
}

async fn logout<S: Store + Accounts>(
    State(dash): State<Arc<Dashboard<S>>>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let lang = lang_of(&headers, None);
    let me = match require(&dash, &headers, lang).await {
        Ok(me) => me,
        Err(r) => return r,
    };
    if !session::same_secret(&me.csrf, &form.csrf) {
        let t = Texts::of(lang);
        return page::message(
            t,
            Some(&me),
            t.get("nav.sign_out"),
            t.get("error.csrf"),
            StatusCode::FORBIDDEN,
        );
    }
    if let Some(token) = session::cookie(&headers, SESSION_COOKIE)
        && let Err(e) = dash.store.end_session(dash.store.token_key().hash(&token)).await
    {
        return failure(lang, e);
    }
    let mut response = Redirect::to("/login").into_response();
    if let Some(gone) = session::set_cookie(SESSION_COOKIE, "", 0) {
        response.headers_mut().append(header::SET_COOKIE, gone);
    }
    response
}
