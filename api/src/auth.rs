//! The signed-in user: `AuthUser` and its extractor (a bearer token or the session cookie,
//! checked against the sessions table), and the tenant transaction of a request made by one.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use fieldwork_core::db::{TenantTx, begin_tenant, begin_tenant_pages};
use fieldwork_core::ids::{Actor, UserId};

use crate::error::{ApiError, ApiResult};
use crate::request_id::RequestId;
use crate::state::AppState;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "session_token";

/// The signed-in user, from `Authorization: Bearer <token>` or the `session_token` cookie.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user_id: UserId,
    pub token: String,
    pub request_id: Option<String>,
}

impl AuthUser {
    /// Who to record in audit rows.
    pub fn actor(&self) -> Actor {
        Actor::new(self.user_id, self.request_id.clone())
    }
}

/// The session token a request carries, if any. A bearer header wins over the cookie.
pub fn session_token(headers: &axum::http::HeaderMap) -> Option<String> {
    if let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let mut parts = auth.splitn(2, ' ');
        if let (Some(scheme), Some(token)) = (parts.next(), parts.next())
            && scheme.eq_ignore_ascii_case("bearer")
        {
            return Some(token.trim().to_owned());
        }
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_owned())
}

impl<S> FromRequestParts<S> for AuthUser
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = session_token(&parts.headers).ok_or_else(ApiError::unauthorized)?;
        let user_id = fieldwork_core::auth::authenticate(&state.pool, &token).await?;
        let request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone());
        Ok(AuthUser {
            user_id,
            token,
            request_id,
        })
    }
}

impl AppState {
    /// Runs `f` in a transaction scoped to `user`'s tenant and commits it when `f` succeeds;
    /// an error drops (rolls back) the transaction, so nothing of a failed request is written.
    pub async fn in_tenant<T>(
        &self,
        user: &AuthUser,
        f: impl AsyncFnOnce(&mut TenantTx) -> fieldwork_core::Result<T>,
    ) -> ApiResult<T> {
        let mut tx = begin_tenant(&self.pool, user.user_id).await?;
        let out = f(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Like [`in_tenant`](Self::in_tenant) for a read of a list page: the transaction keeps
    /// the planner on the tenant's index (`db::begin_tenant_pages`).
    pub async fn in_tenant_pages<T>(
        &self,
        user: &AuthUser,
        f: impl AsyncFnOnce(&mut TenantTx) -> fieldwork_core::Result<T>,
    ) -> ApiResult<T> {
        let mut tx = begin_tenant_pages(&self.pool, user.user_id).await?;
        let out = f(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }
}
