//! The HTTP server: an accept loop over hyper's HTTP/1 connections that holds up against slow
//! and greedy clients — at most `HTTP_MAX_CONNECTIONS` open connections (more wait in the
//! listen backlog), request headers complete within `HTTP_HEADER_TIMEOUT_SECS` or the
//! connection is closed (slowloris; this also bounds idle keep-alive connections), request
//! bodies complete within `HTTP_BODY_TIMEOUT_SECS` or 408 `REQUEST_TIMEOUT` — and graceful
//! shutdown. Each request carries its peer address (`ConnectInfo`) for per-address limits.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fieldwork_core::ErrorCode;
use fieldwork_core::config::HttpSettings;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt;

use crate::error::ApiError;
use crate::routes::BODY_LIMIT;
use crate::state::AppState;

/// Serves `router` on `listener` with the limits of `http` until `shutdown` resolves, then
/// stops accepting and lets open connections finish their in-flight requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    http: HttpSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(http.max_connections));
    let (closing_tx, closing) = watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Take a connection slot before accepting: beyond the cap, clients wait in the
        // kernel's backlog instead of costing us a task and buffers each.
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        while connections.try_join_next().is_some() {}
        connections.spawn(serve_connection(
            stream,
            peer,
            router.clone(),
            http.header_timeout,
            closing.clone(),
            permit,
        ));
    }
    drop(listener);
    let _ = closing_tx.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    header_timeout: Duration,
    mut closing: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let service = TowerToHyperService::new(tower::service_fn(move |mut req: Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(req.map(Body::new))
    }));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            return;
        }
        _ = closing.wait_for(|c| *c) => {}
    }
    conn.as_mut().graceful_shutdown();
    if let Err(e) = conn.await {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// Middleware: reads the whole request body (at most [`BODY_LIMIT`]) within the body timeout,
/// so a client trickling its body cannot hold a handler and its resources indefinitely.
pub async fn body_deadline(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let timeout = state.config.http.body_timeout;
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, BODY_LIMIT)).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(e)) if is_length_limit(&e) => ApiError::new(
            ErrorCode::PayloadTooLarge,
            "The request body is larger than 1 MiB.",
        )
        .into_response(),
        Ok(Err(_)) => ApiError::malformed("The request body could not be read.").into_response(),
        Err(_) => ApiError::new(
            ErrorCode::RequestTimeout,
            "The request body did not arrive in time.",
        )
        .into_response(),
    }
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}
