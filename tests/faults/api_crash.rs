//! `kill -9` of the API in the middle of a burst of writes: every write answered 2xx is in the
//! database with its audit row, no invoice is without its items, no audit row without its
//! change. Each request is one transaction; whatever had not committed when the process died
//! was rolled back by PostgreSQL as a whole.

use std::time::Duration;

use fieldwork_tests::TestDb;
use fieldwork_tests::process::ApiProcess;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Answer, Timeline, call, signup, wait_for};

/// One client's burst: a customer, an invoice with three items for it, the invoice sent and the
/// customer archived — until the API dies under it.
async fn writer(base: String, token: String, timeline: Timeline, c: usize) -> Vec<Answer> {
    let client = reqwest::Client::new();
    let mut answers = Vec::new();
    for n in 0.. {
        let post = async |op, path: &str, body: Value| {
            call(
                &client,
                &timeline,
                op,
                Method::POST,
                &format!("{base}{path}"),
                Some(&token),
                Some(body),
            )
            .await
        };
        let customer = post(
            "customer",
            "/api/data/customers",
            json!({"first_name": format!("w{c}-{n}")}),
        )
        .await;
        let ok = customer.status == 201;
        let customer_id = customer.body["data"]["id"].clone();
        answers.push(customer);
        if !ok {
            break;
        }
        let invoice = post(
            "invoice",
            "/api/data/invoices",
            json!({"customer_id": customer_id, "items": [
                {"description": "Call-out", "quantity": "1", "unit_price": "49.00"},
                {"description": "Filter", "quantity": "3", "unit_price": "19.99"},
                {"description": "Labour", "quantity": "1.5", "unit_price": "60.00"}
            ]}),
        )
        .await;
        let ok = invoice.status == 201;
        let invoice_id = invoice.body["data"]["id"].clone();
        answers.push(invoice);
        if !ok {
            break;
        }
        let send =
            json!({"domain": "invoice", "action": "send", "data": {"invoice_id": invoice_id}});
        let sent = post("invoice.send", "/api/actions", send).await;
        let ok = sent.status == 200;
        answers.push(sent);
        if !ok {
            break;
        }
        let archive = json!({"domain": "customer", "action": "archive", "data": {"customer_id": customer_id, "reason": "burst"}});
        let archived = post("customer.archive", "/api/actions", archive).await;
        let ok = archived.status == 200;
        answers.push(archived);
        if !ok {
            break;
        }
    }
    answers
}

async fn scalar(pool: &sqlx::PgPool, sql: &'static str, ids: &[uuid::Uuid]) -> i64 {
    sqlx::query_scalar(sql)
        .bind(ids)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn ids(answers: &[Answer], op: &str, key: &str) -> Vec<uuid::Uuid> {
    answers
        .iter()
        .filter(|a| a.op == op && (200..300).contains(&a.status))
        .map(|a| a.body["data"][key].as_str().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_api_during_a_burst_of_writes_keeps_every_acknowledged_write_whole() {
    let db = TestDb::new().await;
    let mut api = ApiProcess::spawn(&db, &[]).await;
    let base = api.url("");
    let timeline = Timeline::new();
    let token = signup(&reqwest::Client::new(), &base, "crash@example.com").await;
    let su = db.superuser_pool().await;
    let writers: Vec<_> = (0..8)
        .map(|c| tokio::spawn(writer(base.clone(), token.clone(), timeline.clone(), c)))
        .collect();
    timeline.mark("8 writers started");
    wait_for(Duration::from_secs(120), "a burst of writes", || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log")
            .fetch_one(&su)
            .await
            .unwrap();
        (n >= 200).then_some(())
    })
    .await;
    api.kill9().await;
    timeline.mark("kill -9 of the API");
    let mut answers = Vec::new();
    for w in writers {
        answers.extend(w.await.unwrap());
    }
    let acknowledged = answers
        .iter()
        .filter(|a| (200..300).contains(&a.status))
        .count();
    timeline.mark(format!(
        "{} requests, {acknowledged} answered 2xx",
        answers.len()
    ));
    timeline.print();
    assert!(acknowledged > 0);
    for a in answers.iter().filter(|a| a.status != 0) {
        assert!(
            (200..300).contains(&a.status),
            "the API answered an error before dying: {a:?}"
        );
    }

    let customers = ids(&answers, "customer", "id");
    let invoices = ids(&answers, "invoice", "id");
    let sent = ids(&answers, "invoice.send", "id");
    let archived = ids(&answers, "customer.archive", "id");
    println!(
        "acknowledged: {} customers, {} invoices, {} sent, {} archived",
        customers.len(),
        invoices.len(),
        sent.len(),
        archived.len()
    );
    let stored_customers = scalar(
        &su,
        "SELECT count(*) FROM customers c WHERE id = ANY($1) AND EXISTS
        (SELECT 1 FROM audit_log a WHERE a.entity_id = c.id AND a.action = 'create')",
        &customers,
    )
    .await;
    assert_eq!(
        stored_customers,
        customers.len() as i64,
        "acknowledged customers with audit rows"
    );
    let stored_invoices = scalar(
        &su,
        "SELECT count(*) FROM invoices i WHERE id = ANY($1)
        AND (SELECT count(*) FROM invoice_items t WHERE t.invoice_id = i.id) = 3
        AND EXISTS (SELECT 1 FROM audit_log a WHERE a.entity_id = i.id AND a.action = 'create')",
        &invoices,
    )
    .await;
    assert_eq!(
        stored_invoices,
        invoices.len() as i64,
        "acknowledged invoices with 3 items and audit rows"
    );
    let stored_sent = scalar(
        &su,
        "SELECT count(*) FROM invoices i WHERE id = ANY($1) AND status = 'sent'
        AND EXISTS (SELECT 1 FROM audit_log a WHERE a.entity_id = i.id AND a.action = 'send')",
        &sent,
    )
    .await;
    assert_eq!(
        stored_sent,
        sent.len() as i64,
        "acknowledged sends with audit rows"
    );
    let stored_archived = scalar(
        &su,
        "SELECT count(*) FROM customers c WHERE id = ANY($1) AND archived_at IS NOT NULL
        AND EXISTS (SELECT 1 FROM audit_log a WHERE a.entity_id = c.id AND a.action = 'archive')",
        &archived,
    )
    .await;
    assert_eq!(
        stored_archived,
        archived.len() as i64,
        "acknowledged archives with audit rows"
    );

    // Whatever was in flight is all there or not at all.
    let none: &[uuid::Uuid] = &[];
    let checks: [(&str, &'static str); 5] = [
        ("invoices without items", "SELECT count(*) FROM invoices i WHERE NOT EXISTS
            (SELECT 1 FROM invoice_items t WHERE t.invoice_id = i.id) AND $1::uuid[] IS NOT NULL"),
        ("customers without their create audit row", "SELECT count(*) FROM customers c WHERE NOT EXISTS
            (SELECT 1 FROM audit_log a WHERE a.entity_id = c.id AND a.action = 'create') AND $1::uuid[] IS NOT NULL"),
        ("audit rows of customers that do not exist", "SELECT count(*) FROM audit_log a WHERE a.entity_type = 'customer'
            AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = a.entity_id) AND $1::uuid[] IS NOT NULL"),
        ("audit rows of invoices that do not exist", "SELECT count(*) FROM audit_log a WHERE a.entity_type = 'invoice'
            AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.id = a.entity_id) AND $1::uuid[] IS NOT NULL"),
        ("sent invoices without their send audit row, archived customers without theirs",
            "SELECT (SELECT count(*) FROM invoices i WHERE status = 'sent' AND NOT EXISTS
               (SELECT 1 FROM audit_log a WHERE a.entity_id = i.id AND a.action = 'send'))
             + (SELECT count(*) FROM customers c WHERE archived_at IS NOT NULL AND NOT EXISTS
               (SELECT 1 FROM audit_log a WHERE a.entity_id = c.id AND a.action = 'archive'))
             + (SELECT count(*) FROM invoices WHERE $1::uuid[] IS NULL)"),
    ];
    for (what, sql) in checks {
        assert_eq!(scalar(&su, sql, none).await, 0, "{what}");
    }
    su.close().await;
}
