//! What the runtime login (`DATABASE_URL`) can do at the SQL level, tried directly on its own
//! connection as careless or compromised code holding it would: it reaches `fieldwork_app` and
//! `fieldwork_system` and nothing more — no `RESET ROLE` into more rights, no password hashes,
//! no sessions, no way around row-level security.

use fieldwork_core::ids::UserId;
use fieldwork_tests::TestApp;
use fieldwork_tests::db::{owner_url, user_of};
use sqlx::{Connection, PgConnection, Row};

/// Runs `sql` on `conn` in a transaction that is rolled back; the error text if it fails.
async fn try_sql(conn: &mut PgConnection, sql: &str) -> Result<Vec<sqlx::postgres::PgRow>, String> {
    let mut tx = conn.begin().await.unwrap();
    let result = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| e.to_string());
    tx.rollback().await.unwrap();
    result
}

fn refused(result: Result<Vec<sqlx::postgres::PgRow>, String>, what: &str) -> String {
    match result {
        Ok(rows) => panic!("{what} must be refused, got {} rows", rows.len()),
        Err(e) => e,
    }
}

/// A registered tenant and a connection of the runtime login on the same database.
async fn setup() -> (TestApp, UserId, PgConnection) {
    let app = TestApp::spawn().await;
    let token = app.signup("owner@least.example").await;
    let user = UserId(app.user_id(&token).await);
    let conn = app.db.runtime_connection().await;
    (app, user, conn)
}

fn as_tenant(user: UserId, sql: &str) -> String {
    format!(
        "SET LOCAL ROLE fieldwork_app; SET LOCAL app.current_user_id = '{}'; {sql}",
        user.0
    )
}

#[tokio::test]
async fn the_runtime_login_reaches_the_two_runtime_roles_and_nothing_more() {
    let (_app, _user, mut conn) = setup().await;
    let row = sqlx::query(
        "SELECT session_user::text AS login, r.rolsuper, r.rolinherit, r.rolbypassrls,
                r.rolcreaterole, r.rolcreatedb,
                array(SELECT g.rolname::text FROM pg_roles g
                       WHERE pg_has_role(session_user, g.oid, 'MEMBER') AND g.rolname <> session_user
                       ORDER BY 1) AS reachable
           FROM pg_roles r WHERE r.rolname = session_user",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let login: String = row.get("login");
    assert!(!row.get::<bool, _>("rolsuper") && !row.get::<bool, _>("rolbypassrls"));
    assert!(
        !row.get::<bool, _>("rolinherit"),
        "NOINHERIT: no rights outside SET ROLE"
    );
    assert!(!row.get::<bool, _>("rolcreaterole") && !row.get::<bool, _>("rolcreatedb"));
    assert_eq!(
        row.get::<Vec<String>, _>("reachable"),
        vec!["fieldwork_app", "fieldwork_system"]
    );

    // From inside a tenant transaction, every way back up leads to the login itself, which
    // holds no rights of its own.
    let owner = user_of(&owner_url());
    for escape in [
        "RESET ROLE",
        "SET LOCAL ROLE NONE",
        "SET ROLE NONE",
        "SET SESSION AUTHORIZATION DEFAULT",
    ] {
        let rows = try_sql(
            &mut conn,
            &format!("SET LOCAL ROLE fieldwork_app; {escape}; SELECT current_user::text"),
        )
        .await
        .unwrap();
        assert_eq!(rows[0].get::<String, _>(0), login, "{escape}");
        let e = refused(
            try_sql(
                &mut conn,
                &format!("SET LOCAL ROLE fieldwork_app; {escape}; SELECT count(*) FROM customers"),
            )
            .await,
            escape,
        );
        assert!(e.contains("permission denied"), "{escape}: {e}");
    }
    for target in ["fieldwork_auth", "postgres", owner.as_str()] {
        let e = refused(
            try_sql(&mut conn, &format!("SET LOCAL ROLE \"{target}\"")).await,
            target,
        );
        assert!(e.contains("permission denied"), "{target}: {e}");
        let e = refused(
            try_sql(
                &mut conn,
                &format!("SET SESSION AUTHORIZATION \"{target}\""),
            )
            .await,
            target,
        );
        assert!(e.contains("permission denied"), "{target}: {e}");
    }
}

#[tokio::test]
async fn the_runtime_login_cannot_read_password_hashes_or_sessions() {
    let (_app, user, mut conn) = setup().await;
    // The tenant may read its own account, but not the hash, and no sessions at all.
    let rows = try_sql(&mut conn, &as_tenant(user, "SELECT email FROM users"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    for sql in [
        "SELECT password_hash FROM users",
        "SELECT * FROM users",
        "SELECT * FROM sessions",
        "SELECT token_hash FROM sessions",
        "DELETE FROM sessions",
        "SELECT user_id, password_hash FROM auth_user_credentials('owner@least.example')",
        "SELECT auth_prune_expired_sessions(10)",
    ] {
        let e = refused(try_sql(&mut conn, &as_tenant(user, sql)).await, sql);
        assert!(
            e.contains("permission denied") || e.contains("does not exist"),
            "{sql}: {e}"
        );
    }
    // The system role sees neither table, and cannot use the login lookup.
    for sql in [
        "SELECT password_hash FROM users",
        "SELECT count(*) FROM sessions",
        "SELECT * FROM auth_login_credentials('owner@least.example')",
    ] {
        let e = refused(
            try_sql(
                &mut conn,
                &format!("SET LOCAL ROLE fieldwork_system; {sql}"),
            )
            .await,
            sql,
        );
        assert!(e.contains("permission denied"), "{sql}: {e}");
    }
    // The lookup login needs answers one exact, normalised email; nothing to enumerate with.
    for probe in ["%", "OWNER@least.example", " owner@least.example"] {
        let rows = try_sql(
            &mut conn,
            &format!(
                "SET LOCAL ROLE fieldwork_app; SELECT * FROM auth_login_credentials('{probe}')"
            ),
        )
        .await
        .unwrap();
        assert!(rows.is_empty(), "{probe:?} matched");
    }
}

#[tokio::test]
async fn the_runtime_login_cannot_bypass_row_level_security() {
    let (app, user, mut conn) = setup().await;
    let token = app.signup("other@least.example").await;
    let other_user = UserId(app.user_id(&token).await);
    app.create_customer(&token, serde_json::json!({"first_name": "Theirs"}))
        .await;
    let visible = |rows: Vec<sqlx::postgres::PgRow>| rows[0].get::<i64, _>(0);

    // Its own tenant sees nothing of the other's; no tenant sees nothing at all.
    let rows = try_sql(
        &mut conn,
        &as_tenant(user, "SELECT count(*) FROM customers"),
    )
    .await
    .unwrap();
    assert_eq!(visible(rows), 0);
    let rows = try_sql(
        &mut conn,
        "SET LOCAL ROLE fieldwork_app; SELECT count(*) FROM customers",
    )
    .await
    .unwrap();
    assert_eq!(visible(rows), 0);
    // Switching RLS off, or the table's policies, takes rights it does not have.
    for sql in [
        "SET LOCAL row_security = off; SELECT count(*) FROM customers",
        "ALTER TABLE customers DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE customers NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY customers_tenant ON customers",
        "CREATE POLICY open ON customers USING (true)",
    ] {
        let e = refused(try_sql(&mut conn, &as_tenant(user, sql)).await, sql);
        assert!(
            e.contains("row-level security") || e.contains("must be owner"),
            "{sql}: {e}"
        );
    }
    // Writing into another tenant is refused; the system role has no tenant tables at all.
    let e = refused(
        try_sql(
            &mut conn,
            &as_tenant(
                user,
                &format!(
                    "INSERT INTO customers (user_id, first_name) VALUES ('{}', 'Planted')",
                    other_user.0
                ),
            ),
        )
        .await,
        "planting",
    );
    assert!(e.contains("row-level security"), "{e}");
    let e = refused(
        try_sql(
            &mut conn,
            "SET LOCAL ROLE fieldwork_system; SELECT count(*) FROM customers",
        )
        .await,
        "system reading customers",
    );
    assert!(e.contains("permission denied"), "{e}");
    // The bare login (no role set) can read no table.
    let e = refused(
        try_sql(&mut conn, "SELECT count(*) FROM customers").await,
        "bare",
    );
    assert!(e.contains("permission denied"), "{e}");
}
