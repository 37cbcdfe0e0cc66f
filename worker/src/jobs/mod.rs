//! Job kinds, one file each, with the helpers that register their handlers and schedules in
//! the explicit lists of [`crate::registry`].

pub mod prune_sessions;
