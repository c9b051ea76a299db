//! `GET /metrics`, for a Prometheus scraper holding the operator's token
//! (`serve --metrics-token`). Without the flag the route does not exist.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::App;
use doorstep_store::Store;

/// The bearer token a scraper sends. Kept as its SHA-256 digest, so the
/// comparison takes the same time whatever the length or the first wrong
/// byte of a guess; hidden in `Debug`.
#[derive(Clone)]
pub struct MetricsToken([u8; 32]);

impl MetricsToken {
    /// Fewest characters a token may have.
    pub const MIN_LEN: usize = 16;

    /// A token from the command line or `DOORSTEP_METRICS_TOKEN`.
    pub fn parse(text: &str) -> Result<MetricsToken, String> {
        let text = text.trim();
        if text.chars().count() < Self::MIN_LEN {
            return Err(format!(
                "the metrics token must have at least {} characters (e.g. `openssl rand -hex 32`)",
                Self::MIN_LEN
            ));
        }
        if text.chars().any(char::is_whitespace) {
            return Err("the metrics token must not contain spaces".to_owned());
        }
        Ok(MetricsToken(digest(text)))
    }

    /// Whether `offered` is this token, in constant time.
    pub fn matches(&self, offered: &str) -> bool {
        bool::from(self.0.ct_eq(&digest(offered)))
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(..)")
    }
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// What the scrape route shares.
#[derive(Debug)]
pub(super) struct Scrape<S> {
    pub(super) app: Arc<App<S>>,
    pub(super) token: MetricsToken,
}

/// The metrics, to a request with the right bearer token; 401 otherwise.
pub(super) async fn metrics<S: Store>(State(scrape): State<Arc<Scrape<S>>>, headers: HeaderMap) -> Response {
    let offered = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if !offered.is_some_and(|t| scrape.token.matches(t)) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "send the metrics token as \"Authorization: Bearer <token>\" (serve --metrics-token)\n",
        )
            .into_response();
    }
    let devices = match scrape.app.store.devices().await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "the tablets list could not be read for /metrics");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database could not be read; try again later\n",
            )
                .into_response();
        }
    };
    let newest_backup = match scrape.app.store.newest_backup().await {
        Ok(at) => at,
        Err(e) => {
            tracing::error!(error = %e, "the backups could not be read for /metrics");
            None
        }
    };
    let text = scrape.app.metrics.encode(&devices, newest_backup, Utc::now());
    ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_matches_itself_only_and_hides_in_debug() {
        let token = MetricsToken::parse("s3cret-scrape-token-42").expect("long enough");
        assert!(token.matches("s3cret-scrape-token-42"));
        assert!(!token.matches("s3cret-scrape-token-43"));
        assert!(!token.matches(""));
        assert!(!format!("{token:?}").contains("s3cret"));
    }

    #[test]
    fn short_or_spaced_tokens_are_refused_with_a_reason() {
        assert!(
            MetricsToken::parse("short")
                .expect_err("too short")
                .contains("at least 16")
        );
        assert!(
            MetricsToken::parse("a long token with spaces")
                .expect_err("spaces")
                .contains("spaces")
        );
    }
}
