//! The jobs page: server-rendered HTML (minijinja templates from `templates/ops/`, compiled
//! into the binary; no JavaScript, no build step) served by the worker on `METRICS_ADDR` at
//! `/ops/` when `OPS_TOKEN` is set. Queues with counts by state, throughput and oldest age;
//! jobs filtered by state, kind and queue with paging; a job's detail with why it is not
//! running; retry, cancel, discard, pause and resume. Runs on the system path: it sees every
//! tenant's jobs, which is why it sits behind the token (`auth`). Every value reaches the
//! page through the templates' HTML auto-escaping.

pub mod auth;
mod jobs;
mod queues;
pub mod why;

use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use minijinja::Environment;
use serde::Serialize;
use sqlx::PgPool;

use crate::settings::Secret;
use auth::OpsAuth;

/// What every page handler shares.
#[derive(Clone)]
pub struct WebState {
    pub pool: PgPool,
    pub auth: Arc<OpsAuth>,
    templates: Arc<Environment<'static>>,
}

const TEMPLATES: [(&str, &str); 6] = [
    (
        "layout.html",
        include_str!("../../../templates/ops/layout.html"),
    ),
    (
        "login.html",
        include_str!("../../../templates/ops/login.html"),
    ),
    (
        "queues.html",
        include_str!("../../../templates/ops/queues.html"),
    ),
    (
        "jobs.html",
        include_str!("../../../templates/ops/jobs.html"),
    ),
    ("job.html", include_str!("../../../templates/ops/job.html")),
    (
        "error.html",
        include_str!("../../../templates/ops/error.html"),
    ),
];

fn environment() -> Result<Environment<'static>, String> {
    let mut env = Environment::new();
    // `.html` templates escape every value they print (minijinja's default for the name).
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|e| format!("template {name}: {e}"))?;
    }
    Ok(env)
}

/// The jobs page's routes (all under `/ops`), for the metrics listener to merge.
pub fn router(pool: PgPool, token: &Secret) -> Result<Router, String> {
    let state = WebState {
        pool,
        auth: Arc::new(OpsAuth::new(token.expose())?),
        templates: Arc::new(environment()?),
    };
    let protected = Router::new()
        .route("/ops/", get(queues::overview))
        .route("/ops/queues/pause", post(queues::pause_named))
        .route("/ops/queues/{queue}/{action}", post(queues::act))
        .route("/ops/jobs", get(jobs::list))
        .route("/ops/jobs/{id}", get(jobs::detail))
        .route("/ops/jobs/{id}/{action}", post(jobs::act))
        .route("/ops/logout", post(queues::logout))
        .route_layer(from_fn_with_state(state.clone(), auth::require));
    Ok(Router::new()
        .route("/ops", get(|| async { Redirect::permanent("/ops/") }))
        .route("/ops/login", get(queues::login_form).post(queues::login))
        .merge(protected)
        .with_state(state))
}

impl WebState {
    /// Renders template `name` with `ctx` (plus the CSRF token) as an HTML response.
    pub fn render(&self, status: StatusCode, name: &str, ctx: impl Serialize) -> Response {
        let ctx = minijinja::context! { csrf => self.auth.csrf(), ..minijinja::value::Serde(&ctx) };
        match self
            .templates
            .get_template(name)
            .and_then(|t| t.render(ctx))
        {
            Ok(html) => html_response(status, html),
            Err(e) => {
                tracing::error!(template = name, error = %e, "rendering the jobs page failed");
                html_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "<!doctype html><title>Error</title><p>The page could not be rendered; see the worker's log.</p>".to_owned(),
                )
            }
        }
    }

    /// An error page (within the layout).
    pub fn error(&self, status: StatusCode, message: &str) -> Response {
        #[derive(Serialize)]
        struct Ctx<'a> {
            title: &'a str,
            error: &'a str,
        }
        self.render(
            status,
            "error.html",
            Ctx {
                title: "Error",
                error: message,
            },
        )
    }

    /// The page for a failed core operation: not found, invalid state, or (logged) internal.
    pub fn core_error(&self, e: fieldwork_core::Error) -> Response {
        use fieldwork_core::Error as E;
        match e {
            E::NotFound(what) => self.error(StatusCode::NOT_FOUND, what),
            E::InvalidState(why) | E::Conflict(why) => self.error(StatusCode::CONFLICT, &why),
            E::Validation(fields) => {
                let msg: Vec<String> = fields.values().cloned().collect();
                self.error(StatusCode::UNPROCESSABLE_ENTITY, &msg.join("; "))
            }
            other => {
                tracing::error!(error = %other, "jobs page: database operation failed");
                self.error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The database operation failed; see the worker's log.",
                )
            }
        }
    }
}

fn html_response(status: StatusCode, html: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "no-referrer"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
            ),
        ],
        html,
    )
        .into_response()
}

/// Percent-encodes `s` for a query string value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A timestamp as the page shows it.
pub fn at(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// An optional timestamp; empty when absent.
pub fn at_opt(t: Option<DateTime<Utc>>) -> String {
    t.map(at).unwrap_or_default()
}

/// A duration in words: `45s`, `3m 20s`, `2h 5m`, `4d 3h`.
pub fn human(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) => format!("{m}m {sec}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

/// Seconds from `from` to `to` (negative if `to` is earlier).
pub fn secs_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).as_seconds_f64()
}

/// The fixed messages a redirect after an action may show (`?notice=`): the page never
/// echoes free text from the URL.
pub fn notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "retried" => "The job is available again: a worker will pick it up.",
        "cancelled" => "The job was cancelled.",
        "cancel_requested" => "The job is running: its handler was asked to stop.",
        "discarded" => "The job was discarded.",
        "paused" => "The queue is paused: no worker claims its jobs until it is resumed.",
        "already_paused" => "The queue was already paused.",
        "resumed" => "The queue was resumed.",
        "not_paused" => "The queue was not paused.",
        "logged_out" => "Logged out.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_words() {
        assert_eq!(human(4.4), "4s");
        assert_eq!(human(200.0), "3m 20s");
        assert_eq!(human(7500.0), "2h 5m");
        assert_eq!(human(3.0 * 86_400.0 + 3600.0), "3d 1h");
        assert_eq!(human(-5.0), "0s");
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            url_encode("/ops/jobs?state=a&b"),
            "%2Fops%2Fjobs%3Fstate%3Da%26b"
        );
    }

    #[test]
    fn every_template_parses() {
        environment().unwrap();
    }
}
