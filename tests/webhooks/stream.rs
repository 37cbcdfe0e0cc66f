//! The live stream `GET /api/events`: two clients of a business see its change; another
//! business's client never does; reconnecting with `Last-Event-ID` replays what was missed.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{PATIENCE, World};

/// One open stream, parsed into `(id, type, data)` events.
struct Client {
    response: reqwest::Response,
    buffer: String,
}

impl Client {
    async fn open(w: &World, token: &str, last_event_id: Option<&str>) -> Client {
        let mut req = w
            .app
            .client
            .get(w.app.url("/api/events"))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let response = req.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Client {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (skipping heartbeats), or `None` after `wait`.
    async fn next(&mut self, wait: Duration) -> Option<(String, String, Value)> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut kind, mut data) = (String::new(), String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        kind = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if kind.is_empty() && data.is_empty() {
                    continue;
                }
                return Some((
                    id,
                    kind,
                    serde_json::from_str(&data).unwrap_or(Value::String(data)),
                ));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }

    /// The next event of `kind`.
    async fn next_of(&mut self, kind: &str) -> (String, Value) {
        let start = Instant::now();
        while start.elapsed() < PATIENCE {
            if let Some((id, k, data)) = self.next(PATIENCE).await
                && k == kind
            {
                return (id, data);
            }
        }
        panic!("no {kind} event within {PATIENCE:?}");
    }
}

#[tokio::test]
async fn two_clients_of_a_business_see_its_change_and_another_business_never_does() {
    let w = World::start().await;
    let a = w.tenant("a@example.com").await;
    let b = w.tenant("b@example.com").await;
    let mut a1 = Client::open(&w, &a, None).await;
    let mut a2 = Client::open(&w, &a, None).await;
    let mut b1 = Client::open(&w, &b, None).await;

    let started = Instant::now();
    let c = w
        .app
        .create_customer(&a, json!({"first_name": "Ada"}))
        .await;
    let (id1, e1) = a1.next_of("customer.created").await;
    let (id2, e2) = a2.next_of("customer.created").await;
    eprintln!(
        "both A clients had the change after {:?}",
        started.elapsed()
    );
    assert_eq!(id1, id2);
    assert_eq!(e1, e2);
    let clients = fieldwork_core::metrics_export::render()
        .lines()
        .find_map(|l| l.strip_prefix("fieldwork_events_stream_clients "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .expect("the stream clients gauge is exported");
    assert!(
        clients >= 2.0,
        "three streams are open, the gauge says {clients}"
    );
    assert_eq!(e1["data"]["entity_id"], c["id"]);
    assert_eq!(e1["data"]["sequence"].as_i64().unwrap().to_string(), id1);

    // B's stream stays silent about A, then shows B's own change (it works; it filters).
    let mine = w
        .app
        .create_customer(&b, json!({"first_name": "Bea"}))
        .await;
    let (_, eb) = b1.next_of("customer.created").await;
    assert_eq!(
        eb["data"]["entity_id"], mine["id"],
        "B's first event is its own: {eb}"
    );
}

#[tokio::test]
async fn reconnecting_with_last_event_id_replays_what_was_missed() {
    let w = World::start().await;
    let a = w.tenant("a@example.com").await;
    let mut client = Client::open(&w, &a, None).await;
    w.app
        .create_customer(&a, json!({"first_name": "First"}))
        .await;
    let (last_id, _) = client.next_of("customer.created").await;
    drop(client);

    let mut missed = Vec::new();
    for name in ["Second", "Third", "Fourth"] {
        let c = w.app.create_customer(&a, json!({"first_name": name})).await;
        missed.push(c["id"].clone());
    }
    // Wait until the fan-out has numbered them (the stream serves numbered events).
    let user = w.app.user_id(&a).await;
    let start = Instant::now();
    while w.numbered_after(user, 0).await.1 > 0 {
        assert!(start.elapsed() < PATIENCE);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut again = Client::open(&w, &a, Some(&last_id)).await;
    let mut got = Vec::new();
    let mut previous: i64 = last_id.parse().unwrap();
    while got.len() < 3 {
        let (id, data) = again.next_of("customer.created").await;
        let seq: i64 = id.parse().unwrap();
        assert!(seq > previous, "in order, nothing twice");
        previous = seq;
        got.push(data["data"]["entity_id"].clone());
    }
    assert_eq!(got, missed);
}
