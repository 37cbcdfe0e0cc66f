//! `/api/data/audit_log`: the tenant's audit entries, read-only, filterable by entity.

use axum::extract::State;
use fieldwork_core::audit::{self, AuditEntry, AuditFilter};
use fieldwork_core::pagination::{ListParams, Page};

use crate::auth::AuthUser;
use crate::envelope::Data;
use crate::error::ApiResult;
use crate::extract::{ApiQuery, IdPath};
use crate::schemas::{ListQuery, ReadErrors, Success};
use crate::state::AppState;

/// The tenant's audit entries, oldest first.
#[utoipa::path(get, path = "/data/audit_log", tag = "audit_log",
    params(ListQuery,
        ("entity_type" = Option<String>, Query, description = "Only this entity type, e.g. invoice"),
        ("entity_id" = Option<uuid::Uuid>, Query, description = "Only this entity")),
    responses((status = 200, description = "A page of audit entries", body = Success<Page<AuditEntry>>), ReadErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery,
) -> ApiResult<Data<Page<AuditEntry>>> {
    let params = ListParams::from_query(&query)?;
    let filter = AuditFilter::from_query(&query)?;
    let page = state
        .in_tenant_pages(&user, async |tx| audit::list(tx, &filter, &params).await)
        .await?;
    Ok(Data(page))
}

/// One audit entry.
#[utoipa::path(get, path = "/data/audit_log/{id}", tag = "audit_log",
    params(("id" = uuid::Uuid, Path, description = "Audit entry id")),
    responses((status = 200, description = "The entry", body = Success<AuditEntry>), ReadErrors),
    security(("bearer" = []), ("session_cookie" = [])))]
pub async fn get(
    State(state): State<AppState>,
    user: AuthUser,
    IdPath(id): IdPath,
) -> ApiResult<Data<AuditEntry>> {
    let entry = state
        .in_tenant(&user, async |tx| audit::get(tx, id).await)
        .await?;
    Ok(Data(entry))
}
