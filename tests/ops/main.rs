//! Operator tests: a real Prometheus scraping a real API and worker (dashboard and alert
//! expressions, rule unit tests), the metrics review, the jobs page over HTTP and in a real
//! headless browser.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod jobs_page;
mod metrics;
mod prometheus;
mod support;
mod webdriver;
