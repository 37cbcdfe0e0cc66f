//! `GET /api/events`: the tenant's events as Server-Sent Events, in sequence order, as they
//! are numbered. `id:` is the sequence; reconnecting with `Last-Event-ID` replays what was
//! missed (at most the last `REPLAY_MAX`; older gaps start with a `gap` event). A comment
//! heartbeat every 15 s. Each read is the client's own tenant transaction (RLS), woken by the
//! process's one shared listener ([`crate::events::EventHub`]).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use fieldwork_core::db::begin_tenant;
use fieldwork_core::events::{self, Event};
use fieldwork_core::ids::UserId;
use futures_util::Stream;
use sqlx::PgPool;

use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::events::Subscription;
use crate::schemas::ReadErrors;
use crate::state::AppState;

/// Most events replayed after a reconnect.
pub const REPLAY_MAX: i64 = 1000;
/// Events read per query.
const PAGE: i64 = 200;
/// Heartbeat comment interval.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// The tenant's events as a Server-Sent Events stream (`text/event-stream`): `id:` is the
/// event's sequence, `event:` its type, `data:` the event JSON (as webhooks receive it).
#[utoipa::path(get, path = "/events", tag = "events",
    params(("Last-Event-ID" = Option<i64>, Header, description = "Resume after this sequence; a value that is not a sequence is ignored (the stream starts from now)")),
    responses((status = 200, description = "An endless text/event-stream of the tenant's events", content_type = "text/event-stream", body = String), ReadErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let subscription = state.events.subscribe(user.user_id.0);
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|n| *n >= 0);
    let mut tx = begin_tenant(&state.pool, user.user_id).await?;
    let last = events::last_sequence(&mut tx).await?;
    tx.commit().await?;
    let (cursor, gap) = match last_event_id {
        None => (last, false),
        Some(n) if last - n > REPLAY_MAX => (last - REPLAY_MAX, true),
        Some(n) => (n, false),
    };
    let reader = Reader {
        pool: state.pool.clone(),
        user: user.user_id,
        cursor,
        buffer: VecDeque::new(),
        subscription,
        gap,
    };
    let stream = futures_util::stream::unfold(reader, |mut r| async move {
        let item = r.next().await?;
        Some((Ok(item), r))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(HEARTBEAT)))
}

struct Reader {
    pool: PgPool,
    user: UserId,
    cursor: i64,
    buffer: VecDeque<Event>,
    subscription: Subscription,
    gap: bool,
}

impl Reader {
    /// The next SSE event; `None` ends the stream (the process is shutting down).
    async fn next(&mut self) -> Option<SseEvent> {
        if self.gap {
            self.gap = false;
            return Some(SseEvent::default().event("gap").data(format!(
                "more than {REPLAY_MAX} events were missed; replaying the last {REPLAY_MAX}"
            )));
        }
        loop {
            if let Some(e) = self.buffer.pop_front() {
                self.cursor = e.data.sequence;
                let data = serde_json::to_string(&e).unwrap_or_default();
                return Some(
                    SseEvent::default()
                        .id(e.data.sequence.to_string())
                        .event(e.event_type.clone())
                        .data(data),
                );
            }
            self.subscription.wake.borrow_and_update();
            match self.read().await {
                Ok(page) if !page.is_empty() => {
                    self.buffer.extend(page);
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "reading events for a stream failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
            // Nothing new: wait for the listener (or re-check now and then).
            let wait = self.subscription.wake.changed();
            if let Ok(Err(_)) = tokio::time::timeout(Duration::from_secs(30), wait).await {
                return None;
            }
        }
    }

    async fn read(&self) -> fieldwork_core::Result<Vec<Event>> {
        let mut tx = begin_tenant(&self.pool, self.user).await?;
        let page = events::after(&mut tx, self.cursor, PAGE).await?;
        tx.commit().await?;
        Ok(page)
    }
}
