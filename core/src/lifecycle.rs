//! Explicit state machines. Each stateful entity lists its legal transitions in one table
//! (`StateMachine::TRANSITIONS`, next to the entity); every status change, and every edit whose
//! legality depends on the status, asks `transition` first. Anything not in the table is
//! `INVALID_STATE`, decided before anything is written.

use crate::error::{Error, Result};

/// Something that happens to an entity: an action, an edit, a delete.
pub trait Event: Copy + Eq + 'static {
    /// How the event reads after "cannot be": "closed out", "edited".
    fn past_participle(self) -> &'static str;
}

/// The states of one entity and the table of its legal transitions.
pub trait StateMachine: Copy + Eq + 'static {
    type Event: Event;
    /// The entity as a sentence starts with it: "Ticket".
    const ENTITY: &'static str;
    /// `(from, event, to)`: the only legal transitions. An event that leaves the state as it
    /// is (an edit) is listed with `to == from` for each state that allows it.
    const TRANSITIONS: &'static [(Self, Self::Event, Self)];
    /// How the state reads after "is": "cancelled", "a draft".
    fn describe(self) -> &'static str;
}

/// The state `event` leads to from `from`, if the table allows it.
pub fn next<S: StateMachine>(from: S, event: S::Event) -> Option<S> {
    S::TRANSITIONS
        .iter()
        .find(|(f, e, _)| *f == from && *e == event)
        .map(|(_, _, to)| *to)
}

/// Like [`next`], but an illegal transition is the `INVALID_STATE` error clients see:
/// "Ticket is cancelled and cannot be closed out".
pub fn transition<S: StateMachine>(from: S, event: S::Event) -> Result<S> {
    next(from, event).ok_or_else(|| {
        Error::InvalidState(format!(
            "{} is {} and cannot be {}",
            S::ENTITY,
            from.describe(),
            event.past_participle()
        ))
    })
}
