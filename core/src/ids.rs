//! Identifiers: time-ordered UUIDv7 generation and the tenant (user) id newtype.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A new time-ordered id. UUIDv7 keeps primary keys in creation order, so cursors over `id`
/// follow creation order and index inserts stay at the right edge of the b-tree.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// The tenant: a Fieldwork user (one business). Every tenant-scoped row carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub Uuid);

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Who did something and under which request: recorded in every audit row.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: UserId,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn new(user_id: UserId, request_id: Option<String>) -> Self {
        Self {
            user_id,
            request_id,
        }
    }
}
