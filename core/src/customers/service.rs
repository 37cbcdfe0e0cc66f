//! Customer queries. Every function runs inside the caller's tenant transaction, so
//! row-level security limits it to the caller's rows; writes are audited in that transaction.

use serde_json::Value;
use sqlx::postgres::PgArguments;
use sqlx::query::QueryAs;
use sqlx::{PgConnection, Postgres};
use uuid::Uuid;

use super::{Customer, CustomerCreate, CustomerPatch, CustomerValues, columns};
use crate::entity::{self, Entity, Lock};
use crate::error::{Error, Result};
use crate::fields::TimeZone;
use crate::ids::{Actor, new_id};
use crate::messages::flows;
use crate::pagination::{Cursor, ListParams, Page};

/// Creates a customer and its `create` audit row.
pub async fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    input: CustomerCreate,
) -> Result<Customer> {
    let v = input.parse()?;
    let insert = sqlx::query_as(concat!(
        "INSERT INTO customers (id, user_id, first_name, last_name, email, phone, address, timezone, notes, attributes, email_opt_out)
         VALUES ($1, app_current_user_id(), $2, $3, $4, $5, $6, $7, $8, $9, $10)
         RETURNING ",
        columns!()
    ))
    .bind(new_id());
    let customer = bind_values(insert, &v).fetch_one(&mut *conn).await?;
    entity::log_created(conn, actor, &customer).await?;
    Ok(customer)
}

/// A live (not deleted) customer of the current tenant.
pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Customer> {
    entity::get(conn, id, Lock::Read).await
}

/// Live customers in creation order.
pub async fn list(conn: &mut PgConnection, params: &ListParams) -> Result<Page<Customer>> {
    entity::page(conn, params).await
}

#[derive(sqlx::FromRow)]
struct Scored {
    #[sqlx(flatten)]
    customer: Customer,
    score: f32,
}

/// Fuzzy search over names, email and phone (pg_trgm word similarity, plus plain substring
/// matches), best match first.
pub async fn search(
    conn: &mut PgConnection,
    q: &str,
    params: &ListParams,
) -> Result<Page<Customer>> {
    let q = q.trim().to_lowercase();
    if q.is_empty() || q.chars().count() > 100 || q.contains('\0') {
        return Err(Error::field("q", "must be 1 to 100 characters"));
    }
    let (after_score, after_id) = match params.cursor {
        None => (None, None),
        Some(Cursor::AfterScored(s, id)) => (Some(s), Some(id)),
        // A plain list's cursor has no score: the search starts over (every score is below
        // infinity), like a first page.
        Some(Cursor::After(id)) => (Some(f32::INFINITY), Some(id)),
    };
    // Looser than the 0.6 default so that "jon" finds "john".
    sqlx::query("SELECT set_config('pg_trgm.word_similarity_threshold', '0.3', true)")
        .execute(&mut *conn)
        .await?;
    let like = format!(
        "%{}%",
        q.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let rows: Vec<Scored> = sqlx::query_as(concat!(
        "SELECT * FROM (
            SELECT ",
        columns!(),
        ",
                   GREATEST(word_similarity($1, search_text),
                            CASE WHEN search_text LIKE $2 THEN 1 ELSE 0 END)::real AS score
              FROM customers
             WHERE user_id = app_current_user_id() AND deleted_at IS NULL
               AND ($1 <% search_text OR search_text LIKE $2)
         ) s
         WHERE $3::real IS NULL OR score < $3 OR (score = $3 AND id > $4)
         ORDER BY score DESC, id
         LIMIT $5"
    ))
    .bind(&q)
    .bind(&like)
    .bind(after_score)
    .bind(after_id)
    .bind(params.fetch_limit())
    .fetch_all(conn)
    .await?;
    Ok(Page::from_rows(rows, params.limit, |r| {
        Cursor::AfterScored(r.score, r.customer.id)
    })
    .map(|r| r.customer))
}

/// Applies a partial update; audits only the fields that actually changed. An archived
/// customer cannot be changed (`CUSTOMER_ARCHIVED`) until it is restored.
pub async fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    patch: CustomerPatch,
) -> Result<Customer> {
    // Lock the row so concurrent patches apply one after the other, each seeing the last.
    let current: Customer = entity::get(conn, id, Lock::ForUpdate).await?;
    let values = patch.apply(&current)?;
    if current.archived_at.is_some() {
        return Err(Error::CustomerArchived);
    }
    let updated = write(conn, id, &values).await?;
    entity::log_updated(conn, actor, &current, &updated).await?;
    if updated.email_opt_out && !current.email_opt_out {
        flows::cancel_customer_messages(conn, actor, id).await?;
    }
    Ok(updated)
}

/// Writes every writable column: the whitelist of what an update may touch.
async fn write(conn: &mut PgConnection, id: Uuid, v: &CustomerValues) -> Result<Customer> {
    let update = sqlx::query_as(concat!(
        "UPDATE customers
            SET first_name = $2, last_name = $3, email = $4, phone = $5, address = $6,
                timezone = $7, notes = $8, attributes = $9, email_opt_out = $10,
                -- A new address has not bounced (yet).
                email_bounced_at = CASE WHEN email IS DISTINCT FROM $4 THEN NULL
                                        ELSE email_bounced_at END
          WHERE id = $1 AND deleted_at IS NULL
          RETURNING ",
        columns!()
    ))
    .bind(id);
    bind_values(update, v)
        .fetch_optional(conn)
        .await?
        .ok_or(Customer::NOT_FOUND)
}

/// Binds `$2` to `$10`: the writable columns, in the order both the INSERT and the UPDATE
/// name them.
fn bind_values<'q>(query: CustomerQuery<'q>, v: &'q CustomerValues) -> CustomerQuery<'q> {
    query
        .bind(&v.first_name)
        .bind(&v.last_name)
        .bind(v.email.as_ref().map(|e| e.as_str()))
        .bind(&v.phone)
        .bind(&v.address)
        .bind(v.timezone.as_ref().map(TimeZone::name))
        .bind(&v.notes)
        .bind(Value::Object(v.attributes.clone()))
        .bind(v.email_opt_out)
}

type CustomerQuery<'q> = QueryAs<'q, Postgres, Customer, PgArguments>;

/// Soft delete: the row stays (for the audit trail and references) but is never shown again;
/// its pending messages are cancelled.
pub async fn delete(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<()> {
    entity::soft_delete::<Customer>(conn, actor, id).await?;
    flows::cancel_customer_messages(conn, actor, id).await?;
    Ok(())
}
