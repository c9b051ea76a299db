//! What the dashboard's sign-in keeps: member passwords and sessions.
//! A second trait beside `Store`, so the sync path does not see it.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::StoreError;

/// A member who may sign in, with what they may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    /// Member id.
    pub member_id: String,
    /// Name.
    pub name: String,
    /// Role code: `lead` or `admin` may sign in.
    pub role: String,
    /// Unit code (`youth_union`, ...).
    pub unit: String,
    /// The communes of the member's villages (a lead sees these).
    pub communes: Vec<String>,
    /// Whether a password is set.
    pub has_password: bool,
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Who.
    pub member_id: String,
    /// The token every form of this session must carry.
    pub csrf: String,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
}

/// Passwords and sessions. Every method is one transaction.
pub trait Accounts: Send + Sync + 'static {
    /// Members who are not deleted, with their role and communes.
    fn accounts(&self) -> impl Future<Output = Result<Vec<Account>, StoreError>> + Send;

    /// Sets (or replaces) a member's password hash; ends their sessions.
    fn set_password(
        &self,
        member_id: String,
        hash: String,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A member's password hash.
    fn password_hash(&self, member_id: String) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Starts a session (its token stored as a keyed hash).
    fn start_session(
        &self,
        token_hash: String,
        session: Session,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The session of a token hash, if it has not expired.
    fn session(
        &self,
        token_hash: String,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    /// Ends a session.
    fn end_session(&self, token_hash: String) -> impl Future<Output = Result<(), StoreError>> + Send;
}
