//! Fieldwork core: configuration, database access under row-level security, domain types,
//! entity services, audit, and errors shared by the API and the worker.

pub mod actions;
pub mod audit;
pub mod auth;
pub mod config;
pub mod customers;
pub mod db;
pub mod db_metrics;
pub mod entity;
pub mod error;
pub mod extraction;
pub mod fields;
pub mod ids;
pub mod invoices;
pub mod lifecycle;
pub mod messages;
pub mod metrics_export;
pub mod pagination;
pub mod products;
pub mod queue;
pub mod telemetry;
pub mod tickets;
pub mod values;

pub use error::{Error, ErrorCode, Result};
