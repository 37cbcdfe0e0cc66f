//! The HTTP server against slow and greedy clients, tried with raw TCP: a half-sent request is
//! dropped after the header timeout (slowloris), a trickled body gets 408, connections beyond
//! the cap wait until one closes; and a made-up method is one bounded metrics label.

use std::time::Duration;

use fieldwork_tests::TestApp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection or `within` passes: `Some(bytes read)` if it
/// closed.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()
    .map(|()| got)
}

#[tokio::test]
async fn a_half_sent_request_is_dropped_after_the_header_timeout() {
    let app = TestApp::spawn_with(|c| c.http.header_timeout = Duration::from_secs(1)).await;
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"POST /api/auth/login HTTP/1.1\r\nHost: fieldwork\r\nX-Slow: ")
        .await
        .unwrap();
    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    for stream in [&mut slow, &mut idle] {
        let answer = closed_within(stream, Duration::from_secs(20))
            .await
            .expect("the server closes a connection whose headers never complete");
        let text = String::from_utf8_lossy(&answer);
        assert!(!text.contains(" 200 "), "never served: {text}");
    }
    // Meanwhile ordinary clients are served.
    assert_eq!(app.send("GET", "/healthz", None, None).await.status, 200);
}

#[tokio::test]
async fn a_trickled_body_is_answered_408_after_the_body_timeout() {
    let app = TestApp::spawn_with(|c| c.http.body_timeout = Duration::from_secs(1)).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(
            b"POST /api/auth/login HTTP/1.1\r\nHost: fieldwork\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"email\":",
        )
        .await
        .unwrap();
    let answer = closed_within(&mut stream, Duration::from_secs(20))
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("REQUEST_TIMEOUT"), "{text}");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let app = TestApp::spawn_with(|c| {
        c.http.max_connections = 2;
        c.http.header_timeout = Duration::from_secs(60);
    })
    .await;
    let first = TcpStream::connect(app.addr).await.unwrap();
    let _second = TcpStream::connect(app.addr).await.unwrap();
    // Both slots are taken by connections that send nothing; a third waits in the backlog.
    let mut third = TcpStream::connect(app.addr).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: fieldwork\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    assert!(
        closed_within(&mut third, Duration::from_millis(700))
            .await
            .is_none(),
        "served beyond the connection cap"
    );
    drop(first);
    let answer = closed_within(&mut third, Duration::from_secs(20))
        .await
        .expect("served once a slot frees");
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn made_up_methods_share_one_metrics_label() {
    let app = TestApp::spawn().await;
    let method = "FIELDWORKPROBE";
    let resp = app
        .client
        .request(method.parse().unwrap(), app.url("/api/data/customers"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_client_error());
    let text = app
        .client
        .get(app.metrics_url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains(method), "a client's method became a label");
    assert!(text.contains(r#"method="other""#), "{text}");
}
