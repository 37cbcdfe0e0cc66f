//! Request extractors that answer in the error envelope: JSON bodies (`ApiJson`), path ids
//! (`IdPath`) and query strings (`ApiQuery`). The signed-in user is `auth::AuthUser`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use fieldwork_core::ErrorCode;
use fieldwork_core::fields::{JsonInput, from_json_value};
use uuid::Uuid;

use crate::error::ApiError;

/// A JSON body decoded into `T`: wrong content type → 415, over the body limit → 413,
/// invalid JSON → 400 `MALFORMED_REQUEST`, wrong types / unknown or read-only fields → 422.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: JsonInput> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = json_value(req, state).await?;
        Ok(ApiJson(from_json_value(value)?))
    }
}

/// Reads the body as a JSON document (any shape).
pub async fn json_value<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<serde_json::Value, ApiError> {
    if !is_json(req.headers()) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Send the body as JSON with Content-Type: application/json.",
        ));
    }
    let bytes = Bytes::from_request(req, state)
        .await
        .map_err(body_rejection)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::malformed("The body is not valid JSON.").with_details(serde_json::json!({
            "line": e.line(), "column": e.column()
        }))
    })
}

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            "The request body is larger than 1 MiB.",
        )
    } else {
        ApiError::malformed("The request body could not be read.")
    }
}

/// The `{id}` path segment as a UUID; anything else is a validation error on `id`.
#[derive(Debug, Clone, Copy)]
pub struct IdPath(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found())?;
        Uuid::parse_str(&raw)
            .map(IdPath)
            .map_err(|_| fieldwork_core::Error::field("id", "must be a UUID").into())
    }
}

/// Query parameters as a map; each route parses what it understands.
#[derive(Debug, Default)]
pub struct ApiQuery(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for ApiQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| ApiQuery(q))
            .map_err(|_| ApiError::malformed("The query string could not be decoded."))
    }
}
