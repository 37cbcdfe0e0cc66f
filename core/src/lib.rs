//! Fieldwork core: configuration, database access under row-level security, domain types,
//! entity services, audit, and errors shared by the API and the worker.

pub mod audit;
pub mod auth;
pub mod config;
pub mod customers;
pub mod db;
pub mod error;
pub mod fields;
pub mod ids;
pub mod pagination;
pub mod queue;
pub mod telemetry;

pub use error::{Error, ErrorCode, Result};
