//! The jobs page's job views: a filtered, paged list (newest first) and one job's detail —
//! every column, arguments, error history and why it is not running — with the retry,
//! cancel and discard actions.

use std::str::FromStr;

use axum::Form;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use fieldwork_core::queue::inspect::{self, JobDetail, PageFilter};
use fieldwork_core::queue::{CancelOutcome, JobId, JobState, cancel, control, retry};
use serde::{Deserialize, Serialize};

use super::auth::{AuthKind, form_allowed};
use super::queues::ActionForm;
use super::why::{Why, explain, last_error};
use super::{WebState, at, at_opt, notice, url_encode};

const PAGE_SIZE: i64 = 50;

/// `GET /ops/jobs` filters; empty values mean "any".
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    queue: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    before: String,
}

#[derive(Debug, Serialize)]
struct JobLine {
    id: i64,
    state: &'static str,
    queue: String,
    kind: String,
    attempt: i32,
    max_attempts: i32,
    priority: i16,
    scheduled_at: String,
    created_at: String,
    last_error: String,
}

#[derive(Debug, Serialize)]
struct ListPage {
    title: &'static str,
    error: Option<String>,
    states: Vec<&'static str>,
    state: String,
    queue: String,
    kind: String,
    jobs: Vec<JobLine>,
    next_page: Option<String>,
    first_page: Option<String>,
}

fn nonempty(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn line(job: &JobDetail) -> JobLine {
    JobLine {
        id: job.id.0,
        state: job.state.as_str(),
        queue: job.queue.clone(),
        kind: job.kind.clone(),
        attempt: job.attempt,
        max_attempts: job.max_attempts,
        priority: job.priority,
        scheduled_at: at(job.scheduled_at),
        created_at: at(job.created_at),
        last_error: last_error(job)
            .map(|e| e.chars().take(120).collect())
            .unwrap_or_default(),
    }
}

/// `GET /ops/jobs?state=&queue=&kind=&before=`.
pub async fn list(State(state): State<WebState>, Query(q): Query<ListQuery>) -> Response {
    let mut error = None;
    let job_state = match nonempty(&q.state).map(|s| JobState::from_str(&s)) {
        Some(Ok(s)) => Some(s),
        Some(Err(e)) => {
            error = Some(e);
            None
        }
        None => None,
    };
    let filter = PageFilter {
        state: job_state,
        queue: nonempty(&q.queue),
        kind: nonempty(&q.kind),
        before: nonempty(&q.before)
            .and_then(|b| b.parse::<i64>().ok())
            .map(JobId),
        limit: PAGE_SIZE,
    };
    let page = match inspect::page(&state.pool, &filter).await {
        Ok(p) => p,
        Err(e) => return state.core_error(e),
    };
    let filters = format!(
        "state={}&queue={}&kind={}",
        url_encode(job_state.map_or("", JobState::as_str)),
        url_encode(filter.queue.as_deref().unwrap_or("")),
        url_encode(filter.kind.as_deref().unwrap_or(""))
    );
    let next_page = page
        .jobs
        .last()
        .filter(|_| page.has_more)
        .map(|j| format!("/ops/jobs?{filters}&before={}", j.id));
    let first_page = filter.before.map(|_| format!("/ops/jobs?{filters}"));
    state.render(
        StatusCode::OK,
        "jobs.html",
        ListPage {
            title: "Jobs",
            error,
            states: JobState::ALL.iter().map(|s| s.as_str()).collect(),
            state: job_state.map_or(String::new(), |s| s.as_str().to_owned()),
            queue: filter.queue.clone().unwrap_or_default(),
            kind: filter.kind.clone().unwrap_or_default(),
            jobs: page.jobs.iter().map(line).collect(),
            next_page,
            first_page,
        },
    )
}

#[derive(Debug, Serialize)]
struct ErrorLine {
    attempt: String,
    at: String,
    kind: String,
    error: String,
}

#[derive(Debug, Serialize)]
struct DetailPage {
    title: String,
    notice: Option<&'static str>,
    job: JobLine,
    tenant: String,
    unique_key: String,
    attempted_at: String,
    attempted_by: String,
    lease_expires_at: String,
    finalized_at: String,
    cancel_requested_at: String,
    why: Why,
    args: String,
    errors: Vec<ErrorLine>,
    can_retry: bool,
    can_cancel: bool,
    can_discard: bool,
}

fn error_lines(job: &JobDetail) -> Vec<ErrorLine> {
    let text = |v: Option<&serde_json::Value>| match v {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    job.errors
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| ErrorLine {
                    attempt: text(e.get("attempt")),
                    at: text(e.get("at")),
                    kind: text(e.get("kind")),
                    error: text(e.get("error")),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `GET /ops/jobs/{id}`.
pub async fn detail(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    Query(q): Query<super::queues::NoticeQuery>,
) -> Response {
    let facts = async {
        let Some(job) = inspect::detail(&state.pool, JobId(id)).await? else {
            return Err(fieldwork_core::Error::NotFound("job not found"));
        };
        let paused = control::paused(&state.pool)
            .await?
            .into_iter()
            .find(|p| p.name == job.queue);
        let ahead = if job.state == JobState::Available && paused.is_none() {
            Some(inspect::ahead(&state.pool, &job).await?)
        } else {
            None
        };
        Ok((job, paused, ahead))
    };
    let (job, paused, ahead) = match facts.await {
        Ok(f) => f,
        Err(e) => return state.core_error(e),
    };
    let why = explain(&job, paused.as_ref(), ahead, Utc::now());
    let waiting = matches!(
        job.state,
        JobState::Scheduled | JobState::Available | JobState::Retryable
    );
    let page = DetailPage {
        title: format!("Job {}", job.id),
        notice: notice(&q.notice),
        tenant: job
            .user_id
            .map_or_else(|| "none (system job)".to_owned(), |u| u.to_string()),
        unique_key: job.unique_key.clone().unwrap_or_default(),
        attempted_at: at_opt(job.attempted_at),
        attempted_by: job.attempted_by.clone().unwrap_or_default(),
        lease_expires_at: at_opt(job.lease_expires_at),
        finalized_at: at_opt(job.finalized_at),
        cancel_requested_at: at_opt(job.cancel_requested_at),
        why,
        args: serde_json::to_string_pretty(&job.args).unwrap_or_default(),
        errors: error_lines(&job),
        can_retry: job.state != JobState::Running,
        can_cancel: waiting
            || (job.state == JobState::Running && job.cancel_requested_at.is_none()),
        can_discard: waiting,
        job: line(&job),
    };
    state.render(StatusCode::OK, "job.html", page)
}

/// `POST /ops/jobs/{id}/retry|cancel|discard`, then back to the job.
pub async fn act(
    State(state): State<WebState>,
    Extension(kind): Extension<AuthKind>,
    Path((id, action)): Path<(i64, String)>,
    headers: HeaderMap,
    Form(form): Form<ActionForm>,
) -> Response {
    if !form_allowed(&state, kind, &headers, &form.csrf) {
        return state.error(
            StatusCode::FORBIDDEN,
            "The form's CSRF token is missing or wrong: reload the page and try again.",
        );
    }
    let id = JobId(id);
    let result = match action.as_str() {
        "retry" => retry(&state.pool, id).await.map(|()| "retried"),
        "discard" => inspect::discard(&state.pool, id, "an operator (jobs page)")
            .await
            .map(|()| "discarded"),
        "cancel" => cancel_job(&state.pool, id).await,
        _ => return state.error(StatusCode::NOT_FOUND, "No such action."),
    };
    match result {
        Ok(code) => Redirect::to(&format!("/ops/jobs/{id}?notice={code}")).into_response(),
        Err(e) => state.core_error(e),
    }
}

/// Cancels a waiting job, or asks a running one to stop, on the system path.
async fn cancel_job(pool: &sqlx::PgPool, id: JobId) -> fieldwork_core::Result<&'static str> {
    let mut tx = fieldwork_core::db::begin_system(pool).await?;
    let outcome = cancel(&mut tx, id).await?;
    tx.commit().await?;
    match outcome {
        CancelOutcome::Cancelled => Ok("cancelled"),
        CancelOutcome::Requested => Ok("cancel_requested"),
        CancelOutcome::AlreadyFinalized(s) => Err(fieldwork_core::Error::InvalidState(format!(
            "the job already finished ({})",
            s.as_str()
        ))),
    }
}
