//! Tenant isolation (mandatory per entity): user B can neither see nor change user A's
//! customers or audit entries, over HTTP (404 / absent) and at the SQL level through the
//! application's own connection path: the runtime login, whose transactions run as
//! `fieldwork_app`.

use fieldwork_core::db::begin_tenant;
use fieldwork_core::ids::UserId;
use fieldwork_tests::TestApp;
use serde_json::json;
use sqlx::Row;

#[tokio::test]
async fn the_app_logs_in_as_a_plain_login_and_every_transaction_runs_as_the_restricted_role() {
    let app = TestApp::spawn().await;
    let row = sqlx::query(
        "SELECT r.rolsuper, r.rolbypassrls, r.rolinherit FROM pg_roles r WHERE r.rolname = session_user",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(
        !row.get::<bool, _>("rolsuper"),
        "the runtime login is no superuser"
    );
    assert!(!row.get::<bool, _>("rolbypassrls"));
    assert!(
        !row.get::<bool, _>("rolinherit"),
        "the runtime login is NOINHERIT"
    );
    let user = UserId(uuid::Uuid::now_v7());
    let mut tx = begin_tenant(&app.pool, user).await.unwrap();
    let (role, tenant): (String, Option<uuid::Uuid>) =
        sqlx::query_as("SELECT current_user::text, app_current_user_id()")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!((role.as_str(), tenant), ("fieldwork_app", Some(user.0)));
    tx.rollback().await.unwrap();
    let role: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_ne!(role, "fieldwork_app", "no role outlives its transaction");
}

#[tokio::test]
async fn user_b_cannot_list_get_update_delete_or_search_user_a_customers() {
    let app = TestApp::spawn().await;
    let a = app.signup("a@tenant.example").await;
    let b = app.signup("b@tenant.example").await;
    let c = app
        .create_customer(
            &a,
            json!({"first_name": "Secret", "last_name": "Client", "email": "secret@a.example"}),
        )
        .await;
    let id = c["id"].as_str().unwrap();
    let path = format!("/api/data/customers/{id}");

    assert!(
        app.get("/api/data/customers", &b).await.data()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        app.get("/api/data/customers?q=secret", &b).await.data()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let missing = app
        .get(&format!("/api/data/customers/{}", uuid::Uuid::now_v7()), &b)
        .await;
    let foreign = app.get(&path, &b).await;
    foreign.assert_error(404, "NOT_FOUND");
    assert_eq!(
        foreign.body, missing.body,
        "another tenant's row looks exactly like a missing one"
    );
    app.patch(&path, &b, json!({"first_name": "Hacked"}))
        .await
        .assert_error(404, "NOT_FOUND");
    app.delete(&path, &b).await.assert_error(404, "NOT_FOUND");

    // A's row is untouched and still A's.
    let still = app.get(&path, &a).await;
    assert_eq!(still.data()["first_name"], "Secret");
    // B's cursor built from A's id reveals nothing either.
    let cursor = fieldwork_core::pagination::Cursor::After(uuid::Uuid::nil()).encode();
    assert!(
        app.get(&format!("/api/data/customers?cursor={cursor}"), &b)
            .await
            .data()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn user_b_cannot_read_user_a_audit_entries() {
    let app = TestApp::spawn().await;
    let a = app.signup("audit-a@tenant.example").await;
    let b = app.signup("audit-b@tenant.example").await;
    let c = app
        .create_customer(&a, json!({"first_name": "Audited"}))
        .await;
    let id = c["id"].as_str().unwrap();
    let entries = app
        .get(&format!("/api/data/audit_log?entity_id={id}"), &a)
        .await;
    let entry_id = entries.data()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    assert!(
        app.get("/api/data/audit_log", &b).await.data()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        app.get(&format!("/api/data/audit_log?entity_id={id}"), &b)
            .await
            .data()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    app.get(&format!("/api/data/audit_log/{entry_id}"), &b)
        .await
        .assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn at_the_sql_level_b_context_sees_and_changes_none_of_a_rows() {
    let app = TestApp::spawn().await;
    let a = app.signup("sql-a@tenant.example").await;
    let b = app.signup("sql-b@tenant.example").await;
    let user_a = UserId(app.user_id(&a).await);
    let user_b = UserId(app.user_id(&b).await);
    let c = app
        .create_customer(&a, json!({"first_name": "Private"}))
        .await;
    let id: uuid::Uuid = c["id"].as_str().unwrap().parse().unwrap();

    // The application's own path: the app pool plus the tenant transaction helper.
    let mut tx = begin_tenant(&app.pool, user_b).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(n, 0);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(n, 0);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(n, 1, "B sees only itself among users");
    let updated = sqlx::query("UPDATE customers SET first_name = 'Hacked' WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(updated.rows_affected(), 0);
    let soft_deleted = sqlx::query("UPDATE customers SET deleted_at = now()")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(soft_deleted.rows_affected(), 0);
    // Writing a row into A's tenant is refused by the policy's WITH CHECK.
    let err = sqlx::query("INSERT INTO customers (user_id, first_name) VALUES ($1, 'Planted')")
        .bind(user_a.0)
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
    tx.rollback().await.unwrap();

    // Moving one of B's own rows into A's tenant is refused too.
    let own = app.create_customer(&b, json!({"first_name": "Mine"})).await;
    let mut tx = begin_tenant(&app.pool, user_b).await.unwrap();
    let err = sqlx::query("UPDATE customers SET user_id = $1 WHERE id = $2::uuid")
        .bind(user_a.0)
        .bind(own["id"].as_str().unwrap())
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
    tx.rollback().await.unwrap();

    // Without any tenant context the app role sees nothing at all.
    let mut tx = fieldwork_core::db::begin_anonymous(&app.pool)
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(n, 0);
    tx.rollback().await.unwrap();

    // And role and tenant are transaction-local: neither survives on the pooled connection.
    let mut conn = app.pool.acquire().await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "BEGIN; SET LOCAL ROLE fieldwork_app; SELECT set_config('app.current_user_id', '{}', true); COMMIT",
        user_a.0
    )))
    .execute(&mut *conn)
    .await
    .unwrap();
    let (role, tenant): (String, String) = sqlx::query_as(
        "SELECT current_user::text, coalesce(current_setting('app.current_user_id', true), '')",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_ne!(role, "fieldwork_app");
    assert_eq!(tenant, "");
    let n: i64 = sqlx::raw_sql("SET LOCAL ROLE fieldwork_app; SELECT count(*) FROM customers")
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);

    // A, through the same path, sees its row.
    let mut tx = begin_tenant(&app.pool, user_a).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM customers WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(n, 1);
}
