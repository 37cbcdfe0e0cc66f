//! Row-level security of the fan-out's tables, at the SQL level through the application's own
//! tenant transaction: another business sees none of a business's subscriptions (nor their
//! secrets) or delivery records, changes none of them, cannot record a delivery against them,
//! and cannot number its audit rows.

use fieldwork_core::db::begin_tenant;
use fieldwork_core::ids::UserId;
use serde_json::json;

use crate::harness::World;

#[tokio::test]
async fn another_business_sees_changes_and_numbers_none_of_a_business_webhook_rows() {
    let w = World::start().await;
    let a = w.tenant("a@example.com").await;
    let b = w.tenant("b@example.com").await;
    let user_b = UserId(w.app.user_id(&b).await);
    let sub = w.subscribe(&a, &w.receiver.url("/rls"), &["*"]).await;
    let sid: uuid::Uuid = sub["id"].as_str().unwrap().parse().unwrap();
    w.app
        .act(&a, "webhook", "ping", json!({"subscription_id": sid}))
        .await;
    w.wait_deliveries(&a, &sid.to_string(), "the ping's record", |d| !d.is_empty())
        .await;

    let mut tx = begin_tenant(&w.app.pool, user_b).await.unwrap();
    for table in ["webhook_subscriptions", "webhook_deliveries"] {
        let n: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(&mut *tx)
                .await
                .unwrap();
        assert_eq!(n, 0, "{table}");
    }
    let changed =
        sqlx::query("UPDATE webhook_subscriptions SET url = 'https://evil.example/' WHERE id = $1")
            .bind(sid)
            .execute(&mut *tx)
            .await
            .unwrap();
    assert_eq!(changed.rows_affected(), 0);
    let numbered = sqlx::query("UPDATE audit_log SET sequence = -1 WHERE sequence IS NOT NULL")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(numbered.rows_affected(), 0);
    tx.rollback().await.unwrap();

    // A delivery record pointing at A's subscription cannot be written in B's name.
    let mut tx = begin_tenant(&w.app.pool, user_b).await.unwrap();
    let forged = sqlx::query(
        "INSERT INTO webhook_deliveries (user_id, subscription_id, event_type, trigger, attempt, status)
         VALUES (app_current_user_id(), $1, 'webhook.ping', 'ping', 1, 'succeeded')",
    )
    .bind(sid)
    .execute(&mut *tx)
    .await;
    assert!(forged.is_err(), "the tenant-scoped foreign key refuses it");
    tx.rollback().await.unwrap();

    // The app role may only number audit rows, nothing else.
    let mut tx = begin_tenant(&w.app.pool, UserId(w.app.user_id(&a).await))
        .await
        .unwrap();
    let rewrite = sqlx::query("UPDATE audit_log SET action = 'forged'")
        .execute(&mut *tx)
        .await;
    assert!(rewrite.is_err(), "audit rows stay append-only");
    tx.rollback().await.unwrap();
}
