//! Numbering committed audit rows: the per-tenant lock that makes numbering safe without
//! making writers pay for subscribers, and the one statement a writer adds.
//!
//! The protocol (docs/ARCHITECTURE.md, "Audit fan-out"):
//! - a writer's audit call first takes the tenant's fan-out lock in *shared* mode (its own
//!   statement, so that what follows sees everything committed before the lock was granted),
//!   then inserts its audit rows together with a `webhook.fan_out` job unless one is already
//!   waiting (`available`) — both inside [`crate::audit`]. No unique key: two writers never
//!   wait for each other (a unique insert would make every concurrent writer of a tenant wait
//!   for the other's commit, and deadlock with their row locks); at worst two jobs are queued
//!   and the second finds little or nothing to do;
//! - the fan-out job takes the lock in *exclusive* mode, which waits for every writer still
//!   in flight, numbers every committed row that has no sequence yet and commits. A writer
//!   whose lock is granted after that sees the job no longer `available` and queues another.
//!
//! So no committed row is ever left without a job that will number it, sequence order is
//! commit-visibility order, and a reader that follows the sequence never skips a row.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::error::Result;

/// First key of the fan-out advisory locks (the second is the tenant's hash); [`WAKE_CTE`]
/// spells the same number.
const LOCK_CLASS: i32 = 18007;

/// Kind and queue of the coalesced fan-out job (`webhook.fan_out`).
pub const FAN_OUT_KIND: &str = "webhook.fan_out";
pub const FAN_OUT_QUEUE: &str = "events";

/// The writer's first statement: the tenant's fan-out lock, shared.
pub(crate) const SHARED_LOCK_SQL: &str =
    "SELECT pg_advisory_xact_lock_shared(18007, hashtext(app_current_user_id()::text))";

/// The CTE a writer's audit insert starts with (`WITH {WAKE_CTE} INSERT ...`, after
/// [`SHARED_LOCK_SQL`]): a fan-out job
/// unless one is waiting already. `jobs_notify_insert` wakes a worker when it is new.
pub(crate) const WAKE_CTE: &str = "wake AS (
    INSERT INTO jobs (state, queue, kind, args, user_id, priority, max_attempts, scheduled_at)
    SELECT 'available'::job_state, 'events', 'webhook.fan_out', '{}'::jsonb, app_current_user_id(),
           0, 25, now()
     WHERE NOT EXISTS (
           SELECT 1 FROM jobs
            WHERE user_id = app_current_user_id() AND kind = 'webhook.fan_out'
              AND state = 'available')
    RETURNING 1) ";

/// Takes the caller's tenant's fan-out lock exclusively (the fan-out job): waits for the
/// writers in flight; writers that come later wait until this transaction ends.
pub async fn lock_exclusive(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext(app_current_user_id()::text))")
        .bind(LOCK_CLASS)
        .execute(conn)
        .await?;
    Ok(())
}

/// Takes the caller's tenant's fan-out lock in shared mode (the delivery job's last check):
/// a fan-out in progress finishes first, so its numbered rows are visible afterwards.
pub async fn lock_shared(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock_shared($1, hashtext(app_current_user_id()::text))")
        .bind(LOCK_CLASS)
        .execute(conn)
        .await?;
    Ok(())
}

/// What one numbering round did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Numbered {
    pub count: i64,
    pub last: i64,
    pub oldest: Option<DateTime<Utc>>,
}

/// Numbers up to `limit` committed rows of the caller's tenant that have no sequence yet,
/// oldest first, after the tenant's last number. Run under [`lock_exclusive`].
pub async fn number_pending(conn: &mut PgConnection, limit: i64) -> Result<Numbered> {
    let (count, last, oldest): (i64, Option<i64>, Option<DateTime<Utc>>) = sqlx::query_as(
        "WITH base AS (
             SELECT COALESCE(max(sequence), 0) AS m FROM audit_log
              WHERE user_id = app_current_user_id() AND sequence IS NOT NULL),
         pending AS (
             SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM (
                 SELECT id, created_at FROM audit_log
                  WHERE user_id = app_current_user_id() AND sequence IS NULL
                  ORDER BY created_at, id LIMIT $1) p),
         done AS (
             UPDATE audit_log a SET sequence = base.m + pending.n
               FROM pending, base
              WHERE a.id = pending.id AND a.sequence IS NULL
             RETURNING a.sequence, a.created_at)
         SELECT count(*), max(sequence), min(created_at) FROM done",
    )
    .bind(limit)
    .fetch_one(conn)
    .await?;
    Ok(Numbered {
        count,
        last: last.unwrap_or(0),
        oldest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writers_and_the_fan_out_take_the_same_lock_and_job_key() {
        assert!(SHARED_LOCK_SQL.contains(&format!("pg_advisory_xact_lock_shared({LOCK_CLASS},")));
        assert!(WAKE_CTE.contains(&format!("'{FAN_OUT_QUEUE}', '{FAN_OUT_KIND}'")));
        assert!(WAKE_CTE.contains(&format!("kind = '{FAN_OUT_KIND}'")));
    }
}
