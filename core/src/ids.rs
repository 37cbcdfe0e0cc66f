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
    /// The tenant the change belongs to.
    pub user_id: UserId,
    pub request_id: Option<String>,
    pub kind: ActorKind,
}

/// Who acted within the tenant: the signed-in business, one of its customers (following a
/// link in an email), or the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    User,
    Customer(Uuid),
    System,
}

impl Actor {
    /// The signed-in business itself.
    pub fn new(user_id: UserId, request_id: Option<String>) -> Self {
        Self {
            user_id,
            request_id,
            kind: ActorKind::User,
        }
    }

    /// A customer of `user_id` acting through a signed link (unsubscribe).
    pub fn customer(user_id: UserId, customer_id: Uuid, request_id: Option<String>) -> Self {
        Self {
            user_id,
            request_id,
            kind: ActorKind::Customer(customer_id),
        }
    }

    /// The worker acting for `user_id`; `request_id` names the job (e.g. `job-42`).
    pub fn system(user_id: UserId, request_id: Option<String>) -> Self {
        Self {
            user_id,
            request_id,
            kind: ActorKind::System,
        }
    }

    /// `actor_type` of the audit row: `user`, `customer` or `system`.
    pub fn actor_type(&self) -> &'static str {
        match self.kind {
            ActorKind::User => "user",
            ActorKind::Customer(_) => "customer",
            ActorKind::System => "system",
        }
    }

    /// `actor_id` of the audit row: the user, the customer, or none for the system.
    pub fn actor_id(&self) -> Option<Uuid> {
        match self.kind {
            ActorKind::User => Some(self.user_id.0),
            ActorKind::Customer(id) => Some(id),
            ActorKind::System => None,
        }
    }
}
