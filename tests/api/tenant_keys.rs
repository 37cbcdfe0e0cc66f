//! Composite tenant keys hold in the database itself: even a superuser (no row-level security)
//! cannot store a row of tenant B that points at tenant A's customer, ticket, invoice or product.

use fieldwork_tests::TestApp;
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn rows_of_one_tenant_cannot_point_at_another_tenants_rows_even_as_superuser() {
    let app = TestApp::spawn().await;
    let a = app.signup("keys-a@example.com").await;
    let b = app.signup("keys-b@example.com").await;
    let user_b = app.user_id(&b).await;
    let customer = app.create_customer(&a, json!({"first_name": "A"})).await;
    let product = app
        .create(&a, "products", json!({"name": "P", "price": "1"}))
        .await;
    let ticket = app
        .create(
            &a,
            "tickets",
            json!({"customer_id": customer["id"], "title": "T"}),
        )
        .await;
    let invoice = app
        .create(&a, "invoices", json!({"customer_id": customer["id"]}))
        .await;
    let own_customer = app.create_customer(&b, json!({"first_name": "B"})).await;
    let own_invoice = app
        .create(&b, "invoices", json!({"customer_id": own_customer["id"]}))
        .await;
    let id = |v: &serde_json::Value| Uuid::parse_str(v["id"].as_str().unwrap()).unwrap();
    let (a_customer, a_product, a_ticket, a_invoice) =
        (id(&customer), id(&product), id(&ticket), id(&invoice));
    let (b_customer, b_invoice) = (id(&own_customer), id(&own_invoice));

    let su = app.db.superuser_pool().await;
    let attempts: [(&str, &'static str, Vec<Uuid>); 7] = [
        (
            "tickets_customer_fkey",
            "INSERT INTO tickets (user_id, customer_id, title) VALUES ($1, $2, 'x')",
            vec![user_b, a_customer],
        ),
        (
            "invoices_customer_fkey",
            "INSERT INTO invoices (user_id, customer_id, number) VALUES ($1, $2, 'INV-X1')",
            vec![user_b, a_customer],
        ),
        (
            "invoices_ticket_fkey",
            "INSERT INTO invoices (user_id, customer_id, ticket_id, number) VALUES ($1, $2, $3, 'INV-X2')",
            vec![user_b, b_customer, a_ticket],
        ),
        (
            "invoice_items_invoice_fkey",
            "INSERT INTO invoice_items (user_id, invoice_id, position, description, quantity, unit_price, amount)
             VALUES ($1, $2, 0, 'x', 1, 1, 1)",
            vec![user_b, a_invoice],
        ),
        (
            "invoice_items_product_fkey",
            "INSERT INTO invoice_items (user_id, invoice_id, product_id, position, description, quantity, unit_price, amount)
             VALUES ($1, $2, $3, 0, 'x', 1, 1, 1)",
            vec![user_b, b_invoice, a_product],
        ),
        (
            "scheduled_messages_customer_fkey",
            "INSERT INTO scheduled_messages (user_id, customer_id, message_type, scheduled_for)
             VALUES ($1, $2, 'service_reminder', now())",
            vec![user_b, a_customer],
        ),
        (
            "scheduled_messages_ticket_fkey",
            "INSERT INTO scheduled_messages (user_id, customer_id, ticket_id, message_type, scheduled_for)
             VALUES ($1, $2, $3, 'appointment_reminder', now())",
            vec![user_b, b_customer, a_ticket],
        ),
    ];
    for (constraint, sql, binds) in attempts {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for v in binds {
            q = q.bind(v);
        }
        let err = q.execute(&su).await.unwrap_err();
        let db = err.as_database_error().expect("a database error");
        assert_eq!(db.code().as_deref(), Some("23503"), "{constraint}: {err}");
        assert_eq!(db.constraint(), Some(constraint), "{err}");
    }
    let err = sqlx::query(
        "INSERT INTO scheduled_messages (user_id, customer_id, invoice_id, message_type, scheduled_for)
         VALUES ($1, $2, $3, 'payment_reminder', now())",
    )
    .bind(user_b)
    .bind(b_customer)
    .bind(a_invoice)
    .execute(&su)
    .await
    .unwrap_err();
    assert_eq!(
        err.as_database_error()
            .and_then(|d| d.constraint().map(str::to_owned))
            .as_deref(),
        Some("scheduled_messages_invoice_fkey")
    );
    // The same statements with B's own rows are accepted: the keys, not the statements, refuse.
    sqlx::query("INSERT INTO tickets (user_id, customer_id, title) VALUES ($1, $2, 'fine')")
        .bind(user_b)
        .bind(b_customer)
        .execute(&su)
        .await
        .unwrap();
}

#[tokio::test]
async fn check_constraints_guard_enums_money_and_custom_text() {
    let app = TestApp::spawn().await;
    let a = app.signup("checks@example.com").await;
    let user = app.user_id(&a).await;
    let c = app.create_customer(&a, json!({"first_name": "A"})).await;
    let cid = Uuid::parse_str(c["id"].as_str().unwrap()).unwrap();
    let su = app.db.superuser_pool().await;
    for (constraint, sql) in [
        (
            "tickets_status_check",
            "INSERT INTO tickets (user_id, customer_id, title, status) VALUES ($1, $2, 'x', 'lost')",
        ),
        (
            "scheduled_messages_valid_type",
            "INSERT INTO scheduled_messages (user_id, customer_id, message_type, scheduled_for) VALUES ($1, $2, 'fax', now())",
        ),
        (
            "scheduled_messages_valid_channel",
            "INSERT INTO scheduled_messages (user_id, customer_id, message_type, channel, scheduled_for) VALUES ($1, $2, 'service_reminder', 'sms', now())",
        ),
        (
            "scheduled_messages_custom_text",
            "INSERT INTO scheduled_messages (user_id, customer_id, message_type, scheduled_for) VALUES ($1, $2, 'custom', now())",
        ),
        (
            "invoices_currency_format",
            "INSERT INTO invoices (user_id, customer_id, number, currency) VALUES ($1, $2, 'INV-C', 'usd')",
        ),
    ] {
        let err = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user)
            .bind(cid)
            .execute(&su)
            .await
            .unwrap_err();
        assert_eq!(
            err.as_database_error()
                .and_then(|d| d.constraint().map(str::to_owned))
                .as_deref(),
            Some(constraint),
            "{err}"
        );
    }
    let err = sqlx::query("INSERT INTO products (user_id, name, price) VALUES ($1, 'x', -1)")
        .bind(user)
        .execute(&su)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("products_price_non_negative"),
        "{err}"
    );
}
