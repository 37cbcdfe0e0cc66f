//! The webhook bench's receivers: in-process HTTP servers that answer 204 at once (and note
//! when each event first arrived, for the fan-out lag) or hold every request longer than the
//! delivery timeout (endpoints that time out).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};

/// (first arrival, the event's own timestamp).
type Arrival = (DateTime<Utc>, DateTime<Utc>);

/// First arrival per event id.
#[derive(Default)]
struct Seen {
    first: Mutex<HashMap<String, Arrival>>,
    hang: Option<Duration>,
}

/// One receiver.
pub struct WebhookSink {
    pub addr: SocketAddr,
    seen: Arc<Seen>,
}

impl WebhookSink {
    /// A receiver answering 204 at once, or after `hang` when given.
    pub async fn start(hang: Option<Duration>) -> anyhow::Result<WebhookSink> {
        let seen = Arc::new(Seen {
            hang,
            ..Seen::default()
        });
        let app = Router::new().fallback(hook).with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(WebhookSink { addr, seen })
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Distinct events received.
    pub fn count(&self) -> usize {
        self.seen
            .first
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Seconds from each event's timestamp (its transaction's start) to its first arrival.
    pub fn lags(&self) -> Vec<f64> {
        self.seen
            .first
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|(at, event)| (*at - *event).as_seconds_f64())
            .collect()
    }
}

async fn hook(State(seen): State<Arc<Seen>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let now = Utc::now();
    if let Some(hang) = seen.hang {
        tokio::time::sleep(hang).await;
        return StatusCode::NO_CONTENT;
    }
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let timestamp = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["timestamp"].as_str().map(str::to_owned))
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc));
    if let Some(ts) = timestamp {
        seen.first
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(id)
            .or_insert((now, ts));
    }
    StatusCode::NO_CONTENT
}

/// The `p` quantile (0..=1) of `values` (sorted here), or 0 when empty.
pub fn quantile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = (values.len() as f64 * p).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}
