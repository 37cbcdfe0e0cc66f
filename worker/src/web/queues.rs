//! The jobs page's front page — every queue with its jobs by state, throughput over the last
//! hour, oldest available age and pause state — the pause/resume actions, and logging in and
//! out with the token.

use std::time::Duration;

use axum::Form;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use fieldwork_core::queue::control::{self, PausedQueue};
use fieldwork_core::queue::inspect::{self, Finished};
use fieldwork_core::queue::{JobState, sample};
use serde::{Deserialize, Serialize};

use super::auth::{AuthKind, OpsAuth, form_allowed};
use super::{WebState, at, human, notice, secs_between, url_encode};

/// `?notice=` after a redirect.
#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    #[serde(default)]
    pub notice: String,
    #[serde(default)]
    next: String,
}

/// A POST form that carries only the CSRF token (and maybe a queue name).
#[derive(Debug, Default, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub queue: String,
}

#[derive(Debug, Serialize)]
struct QueueRow {
    name: String,
    paused: bool,
    paused_since: String,
    paused_by: String,
    scheduled: i64,
    available: i64,
    running: i64,
    retryable: i64,
    completed_1h: i64,
    cancelled_1h: i64,
    discarded_1h: i64,
    per_minute: String,
    oldest: String,
}

#[derive(Debug, Serialize)]
struct Overview {
    title: &'static str,
    notice: Option<&'static str>,
    now: String,
    queues: Vec<QueueRow>,
    table: String,
}

fn bytes(n: i64) -> String {
    const MIB: i64 = 1024 * 1024;
    if n >= MIB {
        format!("{:.1} MiB", n as f64 / MIB as f64)
    } else {
        format!("{} KiB", n / 1024)
    }
}

fn finished(rows: &[Finished], queue: &str, state: JobState) -> i64 {
    rows.iter()
        .find(|r| r.queue == queue && r.state == state)
        .map_or(0, |r| r.jobs)
}

/// `GET /ops/`: every queue that has live jobs, finished some in the last hour, or is paused.
pub async fn overview(State(state): State<WebState>, Query(q): Query<NoticeQuery>) -> Response {
    let now = Utc::now();
    let facts = async {
        let live = sample::live(&state.pool).await?;
        let recent = inspect::finished_since(&state.pool, 3600.0).await?;
        let paused = control::paused(&state.pool).await?;
        Ok::<_, fieldwork_core::Error>((live, recent, paused))
    };
    let (live, recent, paused) = match facts.await {
        Ok(f) => f,
        Err(e) => return state.core_error(e),
    };
    let mut names = live.queue_names();
    names.extend(recent.iter().map(|r| r.queue.clone()));
    names.extend(paused.iter().map(|p| p.name.clone()));
    names.sort_unstable();
    names.dedup();
    let queues = names
        .into_iter()
        .map(|name| {
            let pause: Option<&PausedQueue> = paused.iter().find(|p| p.name == name);
            let completed_1h = finished(&recent, &name, JobState::Completed);
            QueueRow {
                paused: pause.is_some(),
                paused_since: pause.map(|p| at(p.paused_at)).unwrap_or_default(),
                paused_by: pause.and_then(|p| p.paused_by.clone()).unwrap_or_default(),
                scheduled: live.jobs(&name, JobState::Scheduled),
                available: live.jobs(&name, JobState::Available),
                running: live.jobs(&name, JobState::Running),
                retryable: live.jobs(&name, JobState::Retryable),
                completed_1h,
                cancelled_1h: finished(&recent, &name, JobState::Cancelled),
                discarded_1h: finished(&recent, &name, JobState::Discarded),
                per_minute: format!("{:.1}", completed_1h as f64 / 60.0),
                oldest: live
                    .oldest_available_at(&name)
                    .map(|t| human(secs_between(t, now)))
                    .unwrap_or_else(|| "—".to_owned()),
                name,
            }
        })
        .collect();
    let t = &live.table;
    let table = format!(
        "jobs table: {} live and {} dead tuples (as of the last autovacuum/analyze), {} of \
         table and {} of indexes",
        t.live_tuples,
        t.dead_tuples,
        bytes(t.table_bytes),
        bytes(t.index_bytes)
    );
    state.render(
        StatusCode::OK,
        "queues.html",
        Overview {
            title: "Queues",
            notice: notice(&q.notice),
            now: at(now),
            queues,
            table,
        },
    )
}

async fn pause_or_resume(state: &WebState, queue: &str, pause: bool) -> Response {
    let result = if pause {
        control::pause(&state.pool, queue, "an operator (jobs page)")
            .await
            .map(|changed| if changed { "paused" } else { "already_paused" })
    } else {
        control::resume(&state.pool, queue)
            .await
            .map(|changed| if changed { "resumed" } else { "not_paused" })
    };
    match result {
        Ok(code) => Redirect::to(&format!("/ops/?notice={code}")).into_response(),
        Err(e) => state.core_error(e),
    }
}

/// `POST /ops/queues/{queue}/pause|resume`.
pub async fn act(
    State(state): State<WebState>,
    Extension(kind): Extension<AuthKind>,
    Path((queue, action)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    if !form_allowed(&state, kind, &headers, &form.csrf) {
        return state.error(
            StatusCode::FORBIDDEN,
            "The form's CSRF token is missing or wrong: reload the page and try again.",
        );
    }
    match action.as_str() {
        "pause" => pause_or_resume(&state, &queue, true).await,
        "resume" => pause_or_resume(&state, &queue, false).await,
        _ => state.error(StatusCode::NOT_FOUND, "No such action."),
    }
}

/// `POST /ops/queues/pause` with a queue name from the form (queues without jobs too).
pub async fn pause_named(
    State(state): State<WebState>,
    Extension(kind): Extension<AuthKind>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    if !form_allowed(&state, kind, &headers, &form.csrf) {
        return state.error(
            StatusCode::FORBIDDEN,
            "The form's CSRF token is missing or wrong: reload the page and try again.",
        );
    }
    pause_or_resume(&state, form.queue.trim(), true).await
}

#[derive(Debug, Serialize)]
struct LoginPage<'a> {
    title: &'static str,
    next: &'a str,
    notice: Option<&'static str>,
    error: Option<&'static str>,
}

/// Where to go after logging in: only pages of the jobs page itself.
fn safe_next(next: &str) -> &str {
    if next.starts_with("/ops/") && !next.contains("//") && !next.contains('\\') {
        next
    } else {
        "/ops/"
    }
}

/// `GET /ops/login`.
pub async fn login_form(State(state): State<WebState>, Query(q): Query<NoticeQuery>) -> Response {
    state.render(
        StatusCode::OK,
        "login.html",
        LoginPage {
            title: "Log in",
            next: safe_next(&q.next),
            notice: notice(&q.notice),
            error: None,
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: String,
}

/// `POST /ops/login`: the token from the form sets the session cookie.
pub async fn login(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(&form.next);
    if !super::auth::cross_site(&headers) && state.auth.is_token(form.token.trim()) {
        return (
            [(header::SET_COOKIE, state.auth.login_cookie())],
            Redirect::to(next),
        )
            .into_response();
    }
    // Slow down guessing (the token is long enough that guessing is hopeless anyway).
    tokio::time::sleep(Duration::from_millis(300)).await;
    state.render(
        StatusCode::UNAUTHORIZED,
        "login.html",
        LoginPage {
            title: "Log in",
            next,
            notice: None,
            error: Some("That is not the token (OPS_TOKEN of the worker)."),
        },
    )
}

/// `POST /ops/logout`.
pub async fn logout(
    State(state): State<WebState>,
    Extension(kind): Extension<AuthKind>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    if !form_allowed(&state, kind, &headers, &form.csrf) {
        return state.error(
            StatusCode::FORBIDDEN,
            "The form's CSRF token is missing or wrong: reload the page and try again.",
        );
    }
    (
        [(header::SET_COOKIE, OpsAuth::logout_cookie())],
        Redirect::to(&format!("/ops/login?notice={}", url_encode("logged_out"))),
    )
        .into_response()
}
