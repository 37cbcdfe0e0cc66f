//! Product queries, in the caller's tenant transaction (row-level security limits them to the
//! caller's rows); writes are audited in that transaction. A SKU clash is `CONFLICT`.

use rust_decimal::Decimal;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Product, ProductCreate, ProductPatch, ProductValues, columns};
use crate::entity::{self, Entity, Lock};
use crate::error::{Error, Result, on_constraint};
use crate::ids::{Actor, new_id};
use crate::pagination::{ListParams, Page};

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
    entity::log_created(conn, actor, &product).await?;
    Ok(product)
}

/// A live product of the current tenant.
pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Product> {
    entity::get(conn, id, Lock::Read).await
}

/// What an invoice item copies from its product: name and price, if the product is live and
/// active (404 when missing or another tenant's; 422 on `field` when inactive).
pub async fn get_for_invoice(
    conn: &mut PgConnection,
    id: Uuid,
    field: &str,
) -> Result<(String, Decimal)> {
    let product = get(conn, id).await?;
    if !product.is_active {
        return Err(Error::field(field, "is an inactive product"));
    }
    Ok((product.name, product.price))
}

/// Live products in creation order.
pub async fn list(conn: &mut PgConnection, params: &ListParams) -> Result<Page<Product>> {
    entity::page(conn, params).await
}

/// Applies a partial update; audits only the fields that actually changed.
pub async fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    patch: ProductPatch,
) -> Result<Product> {
    let current: Product = entity::get(conn, id, Lock::ForUpdate).await?;
    let values = patch.apply(&current)?;
    let updated = write(conn, id, &values).await?;
    entity::log_updated(conn, actor, &current, &updated).await?;
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
    .ok_or(Product::NOT_FOUND)
}

/// Soft delete. Invoice items keep pointing at the row; its SKU becomes free again.
pub async fn delete(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<()> {
    entity::soft_delete::<Product>(conn, actor, id).await
}
