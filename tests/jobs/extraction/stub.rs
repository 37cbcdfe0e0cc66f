//! An in-process HTTP server speaking the OpenAI chat-completions API, started by a test on
//! 127.0.0.1:0: it answers `POST /v1/chat/completions` with the test's scripted replies in
//! order (the last one repeats) and records every request with when it arrived.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Response, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// One scripted reply.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    delay: Duration,
}

impl Reply {
    /// A chat completion whose message content is `content`, ending with `finish_reason`.
    pub fn content(content: &str, finish_reason: &str) -> Reply {
        Self::completion(
            json!({"role": "assistant", "content": content}),
            finish_reason,
        )
    }

    /// A chat completion answering `answer` as JSON text.
    pub fn answer(answer: &Value) -> Reply {
        Self::content(&answer.to_string(), "stop")
    }

    /// A refusal (structured outputs' `refusal` field).
    pub fn refusal(text: &str) -> Reply {
        Self::completion(
            json!({"role": "assistant", "content": null, "refusal": text}),
            "stop",
        )
    }

    fn completion(message: Value, finish_reason: &str) -> Reply {
        let body = json!({
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "test-model",
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
            "usage": {"prompt_tokens": 321, "completion_tokens": 45, "total_tokens": 366}
        });
        Reply {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    /// An error status with an OpenAI-style error body and `headers`.
    pub fn status(status: u16, headers: &[(&str, &str)]) -> Reply {
        let mut all: Vec<(String, String)> =
            vec![("content-type".into(), "application/json".into())];
        all.extend(
            headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        Reply {
            status,
            headers: all,
            body: json!({"error": {"message": "stub error", "type": "stub_error", "code": status}})
                .to_string(),
            delay: Duration::ZERO,
        }
    }

    /// The same reply, sent after `delay`.
    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

/// A request the stub received.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct Script {
    replies: Vec<Reply>,
    next: usize,
    received: Vec<Received>,
}

/// The running stub.
pub struct LlmStub {
    /// `OPENAI_BASE_URL` for the worker: `http://127.0.0.1:<port>/v1`.
    pub base_url: String,
    script: Arc<Mutex<Script>>,
    _stop: oneshot::Sender<()>,
}

impl LlmStub {
    pub async fn start(replies: Vec<Reply>) -> LlmStub {
        let script = Arc::new(Mutex::new(Script {
            replies,
            ..Script::default()
        }));
        let app = Router::new()
            .route("/v1/chat/completions", post(answer))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        LlmStub {
            base_url: format!("http://{addr}/v1"),
            script,
            _stop: stop,
        }
    }

    /// Every request received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.script.lock().unwrap().received.clone()
    }
}

async fn answer(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    body: String,
) -> Response<Body> {
    let reply = {
        let mut s = script.lock().unwrap();
        s.received.push(Received {
            at: Instant::now(),
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: serde_json::from_str(&body).unwrap_or(Value::Null),
        });
        let i = s.next.min(s.replies.len().saturating_sub(1));
        s.next += 1;
        s.replies[i].clone()
    };
    tokio::time::sleep(reply.delay).await;
    let mut response = Response::builder().status(StatusCode::from_u16(reply.status).unwrap());
    for (k, v) in &reply.headers {
        response = response.header(k, http_date_placeholder(v));
    }
    response.body(Body::from(reply.body)).unwrap()
}

/// A header value `{in:N}` becomes the HTTP date N seconds from now (when the reply is sent).
fn http_date_placeholder(value: &str) -> String {
    let Some(secs) = value
        .strip_prefix("{in:")
        .and_then(|v| v.strip_suffix('}'))
        .and_then(|v| v.parse::<i64>().ok())
    else {
        return value.to_owned();
    };
    let at = chrono::Utc::now() + chrono::Duration::seconds(secs);
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}
