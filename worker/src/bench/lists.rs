//! `fieldwork-worker bench lists`: list pages over freshly loaded, never analyzed tables.
//! Loads `tenants` tenants — one with `big` rows of each listed entity, the others with
//! `small` — through tenant transactions (the runtime login, as the API writes), without
//! ANALYZE, then times the first and the thousandth page of the big tenant and the first and
//! last page of a small one for each list, through the same core functions the API calls.
//! [`load_tenant`] is shared with the plan test (tests/faults/plans.rs).

use std::time::{Duration, Instant};

use fieldwork_core::auth::{PasswordHashing, RegisterInput};
use fieldwork_core::db::{self, DbRole, PoolConfig};
use fieldwork_core::ids::UserId;
use fieldwork_core::pagination::{Cursor, ListParams};
use sqlx::PgPool;

/// Shape of the run.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub tenants: usize,
    pub big: i64,
    pub small: i64,
    /// Timed repetitions of each page.
    pub repeat: usize,
}

/// Registers a tenant (the real registration path).
pub async fn tenant(pool: &PgPool, email: &str) -> anyhow::Result<UserId> {
    let user = fieldwork_core::auth::register(
        pool,
        &PasswordHashing::new(2),
        RegisterInput {
            email: email.to_owned(),
            password: "bench password 123".to_owned(),
            business_name: "Bench".to_owned(),
            timezone: None,
        },
    )
    .await?;
    Ok(UserId(user.id))
}

/// Gives `user` `rows` customers, products, tickets (all of its first customer, scheduled a
/// minute apart), invoices (one item each) and one audit row per customer — in a tenant
/// transaction, in set-based statements, without ANALYZE.
pub async fn load_tenant(pool: &PgPool, user: UserId, rows: i64) -> anyhow::Result<()> {
    let mut tx = db::begin_tenant(pool, user).await?;
    for sql in [
        "INSERT INTO customers (id, user_id, first_name, email)
         SELECT uuid_generate_v7(), app_current_user_id(), 'Customer ' || g, 'c' || g || '@example.com'
           FROM generate_series(1, $1) g",
        "INSERT INTO products (id, user_id, name, price)
         SELECT uuid_generate_v7(), app_current_user_id(), 'Product ' || g, 10 FROM generate_series(1, $1) g",
        "INSERT INTO tickets (id, user_id, customer_id, title, scheduled_at)
         SELECT uuid_generate_v7(), app_current_user_id(),
                (SELECT id FROM customers WHERE user_id = app_current_user_id() ORDER BY user_id, id LIMIT 1),
                'Ticket ' || g, now() + g * interval '1 minute'
           FROM generate_series(1, $1) g",
        "INSERT INTO invoices (id, user_id, customer_id, number, total)
         SELECT uuid_generate_v7(), app_current_user_id(),
                (SELECT id FROM customers WHERE user_id = app_current_user_id() ORDER BY user_id, id LIMIT 1),
                'B-' || g, 10 FROM generate_series(1, $1) g",
        "INSERT INTO invoice_items (user_id, invoice_id, position, description, quantity, unit_price, amount)
         SELECT user_id, id, 0, 'Item', 1, 10, 10 FROM invoices
          WHERE user_id = app_current_user_id() AND $1 > 0",
        "INSERT INTO audit_log (user_id, entity_type, entity_id, action)
         SELECT user_id, 'customer', id, 'create' FROM customers
          WHERE user_id = app_current_user_id() AND $1 > 0",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(rows)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

type ListFn =
    for<'a> fn(
        &'a mut db::TenantTx,
        &'a ListParams,
    ) -> futures_util::future::BoxFuture<'a, fieldwork_core::Result<Option<Cursor>>>;

/// Each list the API serves, returning its page's next cursor.
fn lists() -> Vec<(&'static str, ListFn)> {
    use fieldwork_core::{audit, customers, invoices, products, tickets};
    use futures_util::FutureExt;
    vec![
        ("customers", |tx, p| {
            async move { Ok(cursor(customers::list(tx, p).await?.next_cursor)) }.boxed()
        }),
        ("products", |tx, p| {
            async move { Ok(cursor(products::list(tx, p).await?.next_cursor)) }.boxed()
        }),
        ("tickets", |tx, p| {
            async move {
                let f = tickets::TicketFilter::default();
                Ok(cursor(tickets::list(tx, &f, p).await?.next_cursor))
            }
            .boxed()
        }),
        ("invoices", |tx, p| {
            async move {
                let f = invoices::InvoiceFilter::default();
                Ok(cursor(invoices::list(tx, &f, p).await?.next_cursor))
            }
            .boxed()
        }),
        ("audit_log", |tx, p| {
            async move {
                let f = audit::AuditFilter::default();
                Ok(cursor(audit::list(tx, &f, p).await?.next_cursor))
            }
            .boxed()
        }),
    ]
}

fn cursor(c: Option<String>) -> Option<Cursor> {
    c.and_then(|c| Cursor::decode(&c).ok())
}

/// The cursor that starts page `page` (1-based) of 20 rows, found by paging.
async fn cursor_of_page(
    pool: &PgPool,
    user: UserId,
    list: ListFn,
    page: usize,
) -> anyhow::Result<Option<Cursor>> {
    let mut params = ListParams::default();
    let mut tx = db::begin_tenant_pages(pool, user).await?;
    for _ in 1..page {
        params.cursor = list(&mut tx, &params).await?;
        if params.cursor.is_none() {
            break;
        }
    }
    tx.rollback().await?;
    Ok(params.cursor)
}

/// p50 and p99 of `repeat` timed page reads (each in its own tenant transaction).
async fn time_page(
    pool: &PgPool,
    user: UserId,
    list: ListFn,
    cursor: Option<Cursor>,
    repeat: usize,
) -> anyhow::Result<(Duration, Duration)> {
    let params = ListParams {
        cursor,
        ..ListParams::default()
    };
    let mut times = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let mut tx = db::begin_tenant_pages(pool, user).await?;
        let started = Instant::now();
        list(&mut tx, &params).await?;
        times.push(started.elapsed());
        tx.rollback().await?;
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    Ok((at(0.5), at(0.99)))
}

pub async fn run(database_url: &str, shape: Shape) -> anyhow::Result<()> {
    let mut cfg = PoolConfig::new(database_url, "fieldwork-bench-lists");
    cfg.max_connections = 4;
    let pool = db::pool(&cfg, DbRole::App)?;
    let run = uuid::Uuid::now_v7().simple().to_string();
    let started = Instant::now();
    let mut users = Vec::new();
    for t in 0..shape.tenants {
        let user = tenant(&pool, &format!("lists-{run}-{t}@example.com")).await?;
        load_tenant(&pool, user, if t == 0 { shape.big } else { shape.small }).await?;
        users.push(user);
    }
    println!(
        "loaded {} tenants (one with {} rows per list, the others {}) in {:.1} s; not analyzed",
        shape.tenants,
        shape.big,
        shape.small,
        started.elapsed().as_secs_f64()
    );
    let (big, small) = (users[0], users[users.len() - 1]);
    let last_small = usize::try_from(shape.small.max(1) - 1).unwrap_or(0) / 20 + 1;
    println!("list       | tenant rows | page  | p50 µs | p99 µs");
    for (name, list) in lists() {
        for (user, rows, page) in [
            (big, shape.big, 1),
            (big, shape.big, 1000),
            (small, shape.small, 1),
            (small, shape.small, last_small),
        ] {
            let cursor = cursor_of_page(&pool, user, list, page).await?;
            let (p50, p99) = time_page(&pool, user, list, cursor, shape.repeat).await?;
            println!(
                "{name:<10} | {rows:>11} | {page:>5} | {:>6} | {:>6}",
                p50.as_micros(),
                p99.as_micros()
            );
        }
    }
    pool.close().await;
    Ok(())
}
