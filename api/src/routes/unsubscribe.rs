//! `GET|POST /u/{token}`: the public unsubscribe link of every email (no session). `GET` shows
//! a page with a confirm button and never unsubscribes (mail scanners follow links); `POST` with
//! the RFC 8058 body `List-Unsubscribe=One-Click` (what mail providers send, and what the button
//! sends) opts the customer out. A token that does not verify is a 404 page, indistinguishable
//! from a customer that no longer exists.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldwork_core::db::begin_tenant;
use fieldwork_core::messages::unsubscribe::{self, UnsubscribePage, Unsubscriber};

use crate::request_id::RequestId;
use crate::state::AppState;

/// An HTML page with its status; errors are pages too (this is a browser-facing route).
struct Page(StatusCode, String);

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut response = (self.0, self.1).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
        response
    }
}

fn page(status: StatusCode, state: &str, data: Option<&UnsubscribePage>, action: &str) -> Page {
    match unsubscribe::render_page(state, data, action) {
        Ok(html) => Page(status, html),
        Err(e) => {
            tracing::error!(error = %e, "unsubscribe page failed to render");
            Page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!DOCTYPE html><title>Error</title><p>Something went wrong.</p>".into(),
            )
        }
    }
}

fn not_found() -> Page {
    page(StatusCode::NOT_FOUND, "not_found", None, "")
}

fn verified(state: &AppState, token: &str) -> Option<Unsubscriber> {
    unsubscribe::verify(&state.config.messages.app_secret, token)
}

/// Whether a `POST` body is the one-click request: `List-Unsubscribe=One-Click`, as a form
/// field (urlencoded) or a multipart part.
fn is_one_click(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .any(|pair| pair.trim() == "List-Unsubscribe=One-Click")
        || (text.contains("name=\"List-Unsubscribe\"") && text.contains("One-Click"))
}

/// The unsubscribe page: who is unsubscribed from whom, and a confirm button. Never changes
/// anything.
#[utoipa::path(get, path = "/u/{token}", tag = "unsubscribe",
    params(("token" = String, Path, description = "The signed token of an email's unsubscribe link")),
    responses(
        (status = 200, description = "An HTML page with a confirm button", content_type = "text/html", body = String),
        (status = 404, description = "An HTML page: the link is not valid", content_type = "text/html", body = String)))]
pub async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let Some(who) = verified(&state, &token) else {
        return not_found().into_response();
    };
    let result = async {
        let mut tx = begin_tenant(&state.pool, who.user_id).await?;
        let data = unsubscribe::page(&mut tx, who.customer_id).await?;
        tx.commit().await?;
        fieldwork_core::Result::Ok(data)
    }
    .await;
    match result {
        Ok(Some(data)) => page(
            StatusCode::OK,
            "confirm",
            Some(&data),
            &format!("/u/{token}"),
        ),
        Ok(None) => not_found(),
        Err(e) => failed(e),
    }
    .into_response()
}

/// RFC 8058 one-click unsubscribe: sets the customer's `email_opt_out` (audited with actor
/// `customer`) and cancels their pending messages. Idempotent.
#[utoipa::path(post, path = "/u/{token}", tag = "unsubscribe",
    params(("token" = String, Path, description = "The signed token of an email's unsubscribe link")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`List-Unsubscribe=One-Click`"),
    responses(
        (status = 200, description = "An HTML page: unsubscribed", content_type = "text/html", body = String),
        (status = 400, description = "An HTML page: the body is not `List-Unsubscribe=One-Click`", content_type = "text/html", body = String),
        (status = 404, description = "An HTML page: the link is not valid", content_type = "text/html", body = String)))]
pub async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request_id: Option<Extension<RequestId>>,
    body: Bytes,
) -> Response {
    let Some(who) = verified(&state, &token) else {
        return not_found().into_response();
    };
    if !is_one_click(&body) {
        return page(StatusCode::BAD_REQUEST, "bad_request", None, "").into_response();
    }
    let request_id = request_id.map(|Extension(r)| r.0);
    let result = async {
        let mut tx = begin_tenant(&state.pool, who.user_id).await?;
        let data = unsubscribe::unsubscribe(&mut tx, who, request_id).await?;
        tx.commit().await?;
        fieldwork_core::Result::Ok(data)
    }
    .await;
    match result {
        Ok(Some(data)) => page(StatusCode::OK, "done", Some(&data), ""),
        Ok(None) => not_found(),
        Err(e) => failed(e),
    }
    .into_response()
}

fn failed(e: fieldwork_core::Error) -> Page {
    tracing::error!(error = %e, "unsubscribe failed");
    let status = match e.code().http_status() {
        503 => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    page(status, "error", None, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_one_click_body_unsubscribes() {
        assert!(is_one_click(b"List-Unsubscribe=One-Click"));
        assert!(is_one_click(
            b"--x\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--x--"
        ));
        assert!(!is_one_click(b""));
        assert!(!is_one_click(b"List-Unsubscribe=Maybe"));
    }
}
