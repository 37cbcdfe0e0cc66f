//! The success envelope `{"success": true, "data": ...}` with 200 (`Data`) or 201 (`Created`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Serialize)]
struct Success<'a, T> {
    success: bool,
    data: &'a T,
}

fn render<T: Serialize>(status: StatusCode, data: &T) -> Response {
    (
        status,
        axum::Json(Success {
            success: true,
            data,
        }),
    )
        .into_response()
}

/// 200 with the data in the envelope.
#[derive(Debug)]
pub struct Data<T>(pub T);

impl<T: Serialize> IntoResponse for Data<T> {
    fn into_response(self) -> Response {
        render(StatusCode::OK, &self.0)
    }
}

/// 201 with the created entity in the envelope.
#[derive(Debug)]
pub struct Created<T>(pub T);

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        render(StatusCode::CREATED, &self.0)
    }
}
