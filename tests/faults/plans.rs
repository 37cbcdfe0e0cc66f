//! Plans that do not depend on statistics: on freshly loaded tables that were never analyzed
//! (autovacuum off), every list, view and week query keeps to an index that starts with the
//! tenant's `user_id` — no sequential scan, no sort of the tenant's rows — both as the custom
//! plan of a first page and as the generic plan a prepared statement settles on, in the
//! transaction the API reads pages in (`begin_tenant_pages`).

use fieldwork_core::db::begin_tenant_pages;
use fieldwork_tests::TestDb;
use fieldwork_worker::bench::lists::{load_tenant, tenant};
use serde_json::Value;
use sqlx::AssertSqlSafe;

/// Every plan node, depth first.
fn nodes(plan: &Value, out: &mut Vec<Value>) {
    out.push(plan.clone());
    for child in plan["Plans"].as_array().into_iter().flatten() {
        nodes(child, out);
    }
}

struct Query {
    name: &'static str,
    sql: &'static str,
    /// The table read and the indexes allowed for it.
    table: &'static str,
    indexes: &'static [&'static str],
}

const NIL: &str = "'00000000-0000-0000-0000-000000000000'::uuid";

fn queries(customer: &str) -> Vec<(Query, String)> {
    use fieldwork_core::customers::Customer;
    use fieldwork_core::entity::{CustomerRecord, Entity};
    use fieldwork_core::invoices::Invoice;
    use fieldwork_core::messages::ScheduledMessage;
    use fieldwork_core::products::Product;
    use fieldwork_core::tickets::Ticket;
    use fieldwork_core::{audit, invoices, tickets};
    let q = |name, sql, table, index| Query {
        name,
        sql,
        table,
        indexes: index,
    };
    let page = format!("{NIL}, 21");
    let filtered = format!("{NIL}, NULL, NULL, 21");
    let by_customer = format!("{NIL}, '{customer}'::uuid, NULL, 21");
    let by_id = format!("'{customer}'::uuid");
    vec![
        (
            q(
                "customers list",
                Customer::SELECT_PAGE,
                "customers",
                &["customers_user_id_id_key"],
            ),
            page.clone(),
        ),
        (
            q(
                "customer by id",
                Customer::SELECT_LIVE,
                "customers",
                &["customers_user_id_id_key", "customers_pkey"],
            ),
            by_id.clone(),
        ),
        (
            q(
                "products list",
                Product::SELECT_PAGE,
                "products",
                &["products_user_id_id_key"],
            ),
            page,
        ),
        (
            q(
                "tickets list",
                Ticket::SELECT_FILTERED_PAGE,
                "tickets",
                &["tickets_user_id_id_key"],
            ),
            filtered.clone(),
        ),
        (
            q(
                "tickets of a customer",
                Ticket::SELECT_CUSTOMER_PAGE,
                "tickets",
                &["tickets_customer_id_idx"],
            ),
            by_customer.clone(),
        ),
        (
            q(
                "tickets week",
                tickets::WEEK_SQL,
                "tickets",
                &["tickets_week_idx"],
            ),
            "now(), now() + interval '7 days'".to_owned(),
        ),
        (
            q(
                "invoices list",
                Invoice::SELECT_FILTERED_PAGE,
                "invoices",
                &["invoices_user_id_id_key"],
            ),
            filtered.clone(),
        ),
        (
            q(
                "invoices of a customer",
                Invoice::SELECT_CUSTOMER_PAGE,
                "invoices",
                &["invoices_customer_id_idx"],
            ),
            by_customer.clone(),
        ),
        (
            q(
                "messages list",
                ScheduledMessage::SELECT_FILTERED_PAGE,
                "scheduled_messages",
                &["scheduled_messages_user_id_id_key"],
            ),
            filtered,
        ),
        (
            q(
                "messages of a customer",
                ScheduledMessage::SELECT_CUSTOMER_PAGE,
                "scheduled_messages",
                &["scheduled_messages_customer_id_idx"],
            ),
            by_customer,
        ),
        (
            q(
                "audit log",
                audit::LIST_SQL,
                "audit_log",
                &["audit_log_user_id_id_key"],
            ),
            format!("NULL, NULL, {NIL}, 21"),
        ),
        (
            q(
                "audit history of an entity",
                audit::HISTORY_SQL,
                "audit_log",
                &["audit_log_entity_idx"],
            ),
            format!("'customer', '{customer}'::uuid, {NIL}, 21"),
        ),
        (
            q(
                "items of invoices",
                invoices::ITEMS_OF_SQL,
                "invoice_items",
                &["invoice_items_position_key"],
            ),
            format!("ARRAY['{customer}'::uuid]"),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_keeps_to_the_tenants_index_on_tables_that_were_never_analyzed() {
    let db = TestDb::new().await;
    let su = db.superuser_pool().await;
    for table in [
        "customers",
        "products",
        "tickets",
        "invoices",
        "invoice_items",
        "audit_log",
        "scheduled_messages",
    ] {
        let sql = format!("ALTER TABLE {table} SET (autovacuum_enabled = false)");
        sqlx::raw_sql(AssertSqlSafe(sql))
            .execute(&su)
            .await
            .unwrap();
    }
    let pool = db.app_pool();
    let mut users = Vec::new();
    for t in 0..6 {
        let user = tenant(&pool, &format!("plans-{t}@example.com"))
            .await
            .unwrap();
        load_tenant(&pool, user, if t == 0 { 20_000 } else { 100 })
            .await
            .unwrap();
        users.push(user);
    }
    let analyzed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL",
    )
    .fetch_one(&su)
    .await
    .unwrap();
    assert_eq!(analyzed, 0, "the point is tables without statistics");

    let mut failures = Vec::new();
    for user in [users[0], users[5]] {
        let mut tx = begin_tenant_pages(&pool, user).await.unwrap();
        let customer: uuid::Uuid = sqlx::query_scalar(
            "SELECT id FROM customers WHERE user_id = app_current_user_id() ORDER BY user_id, id LIMIT 1",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        for (i, (q, args)) in queries(&customer.to_string()).into_iter().enumerate() {
            let prepare = format!("PREPARE q{i} AS {}", q.sql);
            sqlx::raw_sql(AssertSqlSafe(prepare))
                .execute(&mut *tx)
                .await
                .unwrap();
            for mode in ["force_custom_plan", "force_generic_plan"] {
                let explain = format!(
                    "SET LOCAL plan_cache_mode = {mode}; EXPLAIN (FORMAT JSON) EXECUTE q{i}({args})"
                );
                let rows = sqlx::raw_sql(AssertSqlSafe(explain))
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap();
                use sqlx::Row;
                let plan: Value = rows.last().unwrap().try_get(0).unwrap();
                let mut all = Vec::new();
                nodes(&plan[0]["Plan"], &mut all);
                // The table is read through its tenant index only (index scans, or a bitmap
                // of index probes), and nothing is sorted.
                let reads_table = all.iter().any(|n| n["Relation Name"] == q.table);
                let seq_scan = all
                    .iter()
                    .any(|n| n["Relation Name"] == q.table && n["Node Type"] == "Seq Scan");
                let index_nodes: Vec<&Value> =
                    all.iter().filter(|n| n["Index Name"].is_string()).collect();
                let ok = reads_table
                    && !seq_scan
                    && !index_nodes.is_empty()
                    && index_nodes
                        .iter()
                        .all(|n| q.indexes.iter().any(|i| n["Index Name"] == *i))
                    && !all.iter().any(|n| n["Node Type"] == "Sort");
                let summary: Vec<String> = all
                    .iter()
                    .map(|n| {
                        format!(
                            "{} {}",
                            n["Node Type"].as_str().unwrap_or(""),
                            n["Index Name"].as_str().unwrap_or("")
                        )
                    })
                    .collect();
                println!("{:<28} {mode:<18} {}", q.name, summary.join(" > "));
                if !ok {
                    failures.push(format!("{} ({mode}): {}", q.name, summary.join(" > ")));
                }
            }
        }
        tx.rollback().await.unwrap();
    }
    assert!(
        failures.is_empty(),
        "plans off the tenant's index:\n{}",
        failures.join("\n")
    );
    su.close().await;
}
