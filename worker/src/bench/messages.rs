//! `bench messages`: N scheduled messages through the whole sending path — the `message.send`
//! job, both tenant transactions, rendering, lettre's pooled SMTP client — into the in-process
//! SMTP sink. Messages are due at once (a burst: the drain rate) or spread at `--rate` per second
//! (the send lag under a steady load). Setup writes the messages and jobs directly (no API,
//! no creation audit rows); bench tenants are deleted afterwards.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use fieldwork_core::db::{self, DbRole, PoolConfig, begin_tenant};
use fieldwork_core::ids::UserId;
use fieldwork_core::messages::{MessageSettings, SendMessage, send_job_key};
use fieldwork_core::queue::{JobOptions, NewJob, insert_many};
use sqlx::PgPool;
use uuid::Uuid;

use super::smtp_sink::SmtpSink;
use crate::settings::{MailSettings, QueueSettings, WorkerSettings};
use crate::{WorkerContext, run_worker};

/// What to send.
#[derive(Debug, Clone)]
pub struct Shape {
    pub messages: usize,
    pub concurrency: usize,
    pub buffer: usize,
    pub tenants: usize,
    /// Messages due per second (0: all due now).
    pub rate: u64,
}

const EMAIL_PREFIX: &str = "bench-messages-";

pub async fn run(database_url: &str, shape: Shape) -> anyhow::Result<()> {
    let mut cfg = PoolConfig::new(database_url, "fieldwork-bench");
    cfg.max_connections = 4;
    let app = db::pool(&cfg, DbRole::App)?;
    let sink = SmtpSink::start_with(false).await?;
    let mut tx = db::begin_anonymous(&app).await?;
    let start_db: DateTime<Utc> = sqlx::query_scalar("SELECT clock_timestamp()")
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    // Far enough ahead for the setup to finish first (~0.2 ms a message).
    let setup_allowance = 3_000 + shape.messages as i64 / 4;
    let first_due = start_db + chrono::Duration::milliseconds(setup_allowance);
    let setup = Instant::now();
    let tenants = seed(&app, &shape, first_due).await?;
    if Utc::now() > first_due {
        println!("messages: warning: the setup ended after the first message fell due");
    }
    println!(
        "messages: {} messages for {} tenants written in {:.1} s; due {}",
        shape.messages,
        tenants.len(),
        setup.elapsed().as_secs_f64(),
        if shape.rate == 0 {
            "all at once".to_owned()
        } else {
            format!("at {}/s", shape.rate)
        }
    );
    let settings = WorkerSettings {
        queues: vec![QueueSettings {
            name: "email".into(),
            concurrency: shape.concurrency,
        }],
        buffer: Some(shape.buffer),
        fetch_batch: shape.buffer.clamp(1, 2000),
        mail: MailSettings {
            smtp_url: Some(sink.url().into()),
            ..MailSettings::default()
        },
        messages: MessageSettings {
            quiet_hours: None,
            ..MessageSettings::default()
        },
        ..WorkerSettings::default()
    };
    let pool_size = u32::try_from(shape.concurrency / 2 + 8).unwrap_or(32);
    let ctx = WorkerContext::connect_with(database_url, pool_size, settings)?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(run_worker(ctx, async move {
        let _ = stop_rx.await;
    }));
    let deadline = Instant::now() + Duration::from_secs(600);
    // Progress and results are read tenant by tenant, under each tenant's own context: the
    // runtime login sees nothing else.
    let sent = loop {
        let mut sent = 0i64;
        for tenant in &tenants {
            let mut tx = begin_tenant(&app, *tenant).await?;
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM scheduled_messages
                  WHERE user_id = app_current_user_id() AND status = 'sent'",
            )
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            sent += n;
        }
        if sent as usize >= shape.messages || Instant::now() > deadline {
            break sent;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = stop_tx.send(());
    worker.await??;
    report(&app, &tenants, &shape, &sink, first_due, sent).await?;
    // The runtime login may not delete accounts: the bench tenants (emails starting with
    // `bench-messages-`) stay, which is why the bench wants a scratch database.
    app.close().await;
    Ok(())
}

/// Tenants, one customer per 20 messages, and custom messages with their send jobs, the first
/// due at `first_due` (the rest at `shape.rate` per second, or all then). Also used by the
/// crash test.
pub async fn seed(
    app: &PgPool,
    shape: &Shape,
    first_due: DateTime<Utc>,
) -> anyhow::Result<Vec<UserId>> {
    let tenants = shape.tenants.max(1);
    let mut users = Vec::with_capacity(tenants);
    for t in 0..tenants {
        let user = UserId(Uuid::now_v7());
        let share = shape.messages / tenants + usize::from(t < shape.messages % tenants);
        let mut tx = begin_tenant(app, user).await?;
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, business_name) VALUES ($1, $2, 'x', 'Bench Plumbing')",
        )
        .bind(user.0)
        .bind(format!("{EMAIL_PREFIX}{}@example.com", user.0))
        .execute(&mut *tx)
        .await?;
        let customers: Vec<Uuid> = sqlx::query_scalar(
            "INSERT INTO customers (user_id, first_name, email, timezone)
             SELECT app_current_user_id(), 'Customer ' || n, 'c' || n || '@bench.example.com', 'Europe/Berlin'
               FROM generate_series(1, $1) n RETURNING id",
        )
        .bind(i32::try_from(share.div_ceil(20).max(1))?)
        .fetch_all(&mut *tx)
        .await?;
        let step_us = if shape.rate == 0 {
            0
        } else {
            1_000_000 / shape.rate as i64
        };
        let messages: Vec<(Uuid, DateTime<Utc>)> = sqlx::query_as(
            "INSERT INTO scheduled_messages (user_id, customer_id, message_type, scheduled_for, subject, body)
             SELECT app_current_user_id(), ($1::uuid[])[1 + n % cardinality($1::uuid[])], 'custom',
                    $2::timestamptz + make_interval(secs => (n * $3 + $4)::double precision / 1e6),
                    'Your gutters', 'Hello, a note about your gutters before winter.'
               FROM generate_series(0, $5 - 1) n
             RETURNING id, scheduled_for",
        )
        .bind(&customers)
        .bind(first_due)
        .bind(step_us * tenants as i64)
        .bind(step_us * t as i64)
        .bind(i32::try_from(share)?)
        .fetch_all(&mut *tx)
        .await?;
        for chunk in messages.chunks(2000) {
            let jobs: Vec<NewJob> = chunk
                .iter()
                .map(|(id, at)| {
                    let options = JobOptions::default()
                        .run_at(*at)
                        .unique_key(send_job_key(*id));
                    NewJob::new(&SendMessage { message_id: *id }, options)
                })
                .collect::<Result<_, _>>()?;
            insert_many(&mut tx, &jobs).await?;
        }
        tx.commit().await?;
        users.push(user);
    }
    Ok(users)
}

async fn report(
    app: &PgPool,
    tenants: &[UserId],
    shape: &Shape,
    sink: &SmtpSink,
    first_due: DateTime<Utc>,
    sent: i64,
) -> anyhow::Result<()> {
    let (mut first, mut last): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = (None, None);
    let mut lags: Vec<f64> = Vec::new();
    for tenant in tenants {
        let mut tx = begin_tenant(app, *tenant).await?;
        let (f, l): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = sqlx::query_as(
            "SELECT min(sent_at), max(sent_at) FROM scheduled_messages
              WHERE user_id = app_current_user_id()",
        )
        .fetch_one(&mut *tx)
        .await?;
        first = first.into_iter().chain(f).min();
        last = last.into_iter().chain(l).max();
        let tenant_lags: Vec<f64> = sqlx::query_scalar(
            "SELECT extract(epoch FROM sent_at - scheduled_for)::float8 FROM scheduled_messages
              WHERE user_id = app_current_user_id() AND status = 'sent'",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        lags.extend(tenant_lags);
    }
    lags.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        let i = ((lags.len() as f64 * p).ceil() as usize).clamp(1, lags.len().max(1)) - 1;
        lags.get(i).copied().unwrap_or(0.0) * 1000.0
    };
    // The burst starts when the messages fall due; a steady stream is measured first to last.
    let (from, to) = match (shape.rate, first, last) {
        (0, _, Some(last)) => (first_due, last),
        (_, Some(first), Some(last)) => (first, last),
        _ => (first_due, first_due),
    };
    let seconds = (to - from).as_seconds_f64().max(1e-3);
    println!(
        "messages: {sent} of {} sent; {} accepted by the SMTP sink over {} connections \
         (concurrency {}, buffer {})",
        shape.messages,
        sink.count(),
        sink.connections(),
        shape.concurrency,
        shape.buffer
    );
    println!(
        "messages: {:.0} messages/s ({sent} in {seconds:.2} s); send lag p50 {:.0} ms, p95 {:.0} ms, \
         p99 {:.0} ms, max {:.0} ms",
        sent as f64 / seconds,
        pct(0.50),
        pct(0.95),
        pct(0.99),
        pct(1.0)
    );
    if sent as usize != shape.messages || sink.count() != shape.messages {
        anyhow::bail!(
            "expected {} messages sent once each; {sent} rows sent, {} accepted",
            shape.messages,
            sink.count()
        );
    }
    Ok(())
}
