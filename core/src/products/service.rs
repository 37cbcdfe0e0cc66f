//! Product queries, in the caller's tenant transaction (row-level security limits them to the
//! caller's rows); writes are audited in that transaction. A SKU clash is `CONFLICT`.

use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Product, ProductCreate, ProductPatch, ProductValues, columns};
use crate::audit::{self, AuditAction, compute_changes, snapshot};
use crate::error::{Error, Result, on_constraint};
use crate::ids::{Actor, new_id};
use crate::pagination::{Cursor, ListParams, Page};

const NOT_FOUND: Error = Error::NotFound("product not found");

fn sku_taken(err: sqlx::Error) -> Error {
    on_constraint("products_sku_key", err, || {
        Error::Conflict("another product already has this SKU".into())
    })
}

/// Creates a product and its `create` audit row.
pub async fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    input: ProductCreate,
) -> Result<Product> {
    let v = input.parse()?;
    let product: Product = sqlx::query_as(concat!(
        "INSERT INTO products (id, user_id, name, description, price, sku, is_active)
         VALUES ($1, app_current_user_id(), $2, $3, $4, $5, $6)
         RETURNING ",
        columns!()
    ))
    .bind(new_id())
    .bind(&v.name)
    .bind(&v.description)
    .bind(v.price)
    .bind(&v.sku)
    .bind(v.is_active)
    .fetch_one(&mut *conn)
    .await
    .map_err(sku_taken)?;
    let changes = compute_changes(&Value::Null, &snapshot(&product)?);
    audit::log_change(
        conn,
        actor,
        "product",
        product.id,
        AuditAction::Create,
        changes,
    )
    .await?;
    Ok(product)
}

/// A live product of the current tenant.
pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Product> {
    fetch(conn, id, false).await?.ok_or(NOT_FOUND)
}

/// What an invoice item copies from its product: name and price, if the product is live and
/// active (404 when missing or another tenant's; 422 on `field` when inactive).
pub async fn get_for_invoice(
    conn: &mut PgConnection,
    id: Uuid,
    field: &str,
) -> Result<(String, Decimal)> {
    let product = fetch(conn, id, false).await?.ok_or(NOT_FOUND)?;
    if !product.is_active {
        return Err(Error::field(field, "is an inactive product"));
    }
    Ok((product.name, product.price))
}

async fn fetch(conn: &mut PgConnection, id: Uuid, for_update: bool) -> Result<Option<Product>> {
    let sql = if for_update {
        concat!(
            "SELECT ",
            columns!(),
            " FROM products WHERE id = $1 AND deleted_at IS NULL FOR UPDATE"
        )
    } else {
        concat!(
            "SELECT ",
            columns!(),
            " FROM products WHERE id = $1 AND deleted_at IS NULL"
        )
    };
    Ok(sqlx::query_as(sql).bind(id).fetch_optional(conn).await?)
}

/// A page of the tenant's live products after `$1`: keyset on `(user_id, id)`.
pub const LIST_SQL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM products
      WHERE user_id = app_current_user_id() AND id > $1 AND deleted_at IS NULL
      ORDER BY user_id, id LIMIT $2"
);

/// Live products in creation order.
pub async fn list(conn: &mut PgConnection, params: &ListParams) -> Result<Page<Product>> {
    let after = Cursor::keyset_start(params.cursor)?;
    // Keyset on the tenant's (user_id, id) index: see customers::list.
    let rows: Vec<Product> = sqlx::query_as(LIST_SQL)
        .bind(after)
        .bind(params.fetch_limit())
        .fetch_all(conn)
        .await?;
    Ok(Page::from_rows(rows, params.limit, |p| Cursor::After(p.id)))
}

/// Applies a partial update; audits only the fields that actually changed.
pub async fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    patch: ProductPatch,
) -> Result<Product> {
    let current = fetch(conn, id, true).await?.ok_or(NOT_FOUND)?;
    let values = patch.apply(&current)?;
    let updated = write(conn, id, &values).await?;
    let changes = compute_changes(&snapshot(&current)?, &snapshot(&updated)?);
    if !changes.is_empty() {
        audit::log_change(conn, actor, "product", id, AuditAction::Update, changes).await?;
    }
    Ok(updated)
}

/// Writes every writable column: the whitelist of what an update may touch.
async fn write(conn: &mut PgConnection, id: Uuid, v: &ProductValues) -> Result<Product> {
    sqlx::query_as(concat!(
        "UPDATE products
            SET name = $2, description = $3, price = $4, sku = $5, is_active = $6
          WHERE id = $1 AND deleted_at IS NULL
          RETURNING ",
        columns!()
    ))
    .bind(id)
    .bind(&v.name)
    .bind(&v.description)
    .bind(v.price)
    .bind(&v.sku)
    .bind(v.is_active)
    .fetch_optional(conn)
    .await
    .map_err(sku_taken)?
    .ok_or(NOT_FOUND)
}

/// Soft delete. Invoice items keep pointing at the row; its SKU becomes free again.
pub async fn delete(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<()> {
    let deleted_at: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(
        "UPDATE products SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING deleted_at",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let deleted_at = deleted_at.ok_or(NOT_FOUND)?;
    let mut changes = Map::new();
    changes.insert(
        "deleted_at".to_owned(),
        json!({ "old": null, "new": deleted_at }),
    );
    audit::log_change(conn, actor, "product", id, AuditAction::Delete, changes).await?;
    Ok(())
}
