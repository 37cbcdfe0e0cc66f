//! SQL checked before a user hits it: every static statement of `core/`, `api/` and `worker/`
//! (found by `scan`) is prepared against a freshly migrated database, so a misspelt column,
//! table or function fails here with the file and line that wrote it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod lex;
mod macros;
mod scan;

use std::collections::BTreeMap;
use std::path::Path;

use fieldwork_tests::TestDb;
use fieldwork_worker::test_kinds::TEST_TABLES_SQL;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, SqlSafeStr};

/// Fewer than this means the scanner lost its way, not that the code has no SQL.
const AT_LEAST: usize = 120;

#[tokio::test]
async fn every_sql_statement_in_the_code_prepares_against_the_migrated_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let statements = scan::statements(root, &["core/src", "api/src", "worker/src"]);
    // One prepare per distinct text; a failure names every place that writes it.
    let mut places: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for s in &statements {
        places
            .entry(s.sql.as_str())
            .or_default()
            .push(format!("{}:{}", s.file, s.line));
    }
    assert!(
        statements.len() >= AT_LEAST,
        "found only {} SQL statements (expected at least {AT_LEAST}): the scanner misses some",
        statements.len()
    );

    // The schema owner: PREPARE checks names and types (not privileges; the least-privilege
    // tests cover those), and the owner can see every object the runtime roles use.
    let db = TestDb::new().await;
    // The worker's test job kinds (built into the tests) write to tables the tests create.
    let su = db.superuser_pool().await;
    sqlx::raw_sql(TEST_TABLES_SQL).execute(&su).await.unwrap();
    su.close().await;
    let mut conn = PgConnection::connect(&db.owner_url).await.unwrap();
    let mut failures = Vec::new();
    for (sql, at) in &places {
        let prepared = (&mut conn)
            .prepare(AssertSqlSafe(sql.to_string()).into_sql_str())
            .await;
        if let Err(e) = prepared {
            let why = match e.as_database_error() {
                Some(db) => db.message().to_owned(),
                None => e.to_string(),
            };
            failures.push(format!("{}: {why}\n    {}", at.join(", "), one_line(sql)));
        }
    }
    conn.close().await.ok();
    assert!(
        failures.is_empty(),
        "{} of {} SQL statements do not prepare against the migrated schema:\n{}",
        failures.len(),
        places.len(),
        failures.join("\n")
    );
    if std::env::var_os("FIELDWORK_SQL_LIST").is_some() {
        for s in &statements {
            eprintln!("{}:{}", s.file, s.line);
        }
    }
    eprintln!(
        "prepared {} distinct SQL statements ({} places)",
        places.len(),
        statements.len()
    );
}

fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}
