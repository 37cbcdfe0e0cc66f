//! Scheduled messages end to end: the API, an in-process worker and a real SMTP server
//! (`SmtpSink`) in every test; the crash test runs real worker processes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crash;
mod delivery;
mod failures;
mod flows;
mod harness;
mod quiet_hours;
mod skips;
mod unsubscribe;
