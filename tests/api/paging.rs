//! Cursor paging is stable: every row exactly once, in order, while rows are being inserted.

use std::collections::HashSet;

use fieldwork_tests::TestApp;
use serde_json::json;

#[tokio::test]
async fn paging_250_customers_by_7_returns_each_once_in_order_during_concurrent_inserts() {
    let app = TestApp::spawn().await;
    let token = app.signup("pager@example.com").await;
    let user = fieldwork_core::ids::UserId(app.user_id(&token).await);
    let actor = fieldwork_core::ids::Actor::new(user, None);

    let mut original = Vec::new();
    let mut tx = fieldwork_core::db::begin_tenant(&app.pool, user)
        .await
        .unwrap();
    for i in 0..250 {
        let input =
            fieldwork_core::fields::from_json_value(json!({"first_name": format!("C{i:03}")}))
                .unwrap();
        let c = fieldwork_core::customers::create(&mut tx, &actor, input)
            .await
            .unwrap();
        original.push(c.id.to_string());
    }
    tx.commit().await.unwrap();

    // Keep inserting through the API while the pages are read.
    let writer = {
        let client = app.client.clone();
        let url = app.url("/api/data/customers");
        let token = token.clone();
        tokio::spawn(async move {
            let mut n = 0;
            for i in 0..60 {
                let r = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"first_name": format!("Late{i}")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
                n += 1;
                tokio::task::yield_now().await;
            }
            n
        })
    };

    let mut seen: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/data/customers?limit=7&cursor={c}"),
            None => "/api/data/customers?limit=7".to_owned(),
        };
        let page = app.get(&path, &token).await;
        let data = page.data();
        let items = data["items"].as_array().unwrap();
        assert!(items.len() <= 7);
        seen.extend(items.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        if data["has_more"] == false {
            assert!(data["next_cursor"].is_null());
            break;
        }
        cursor = Some(data["next_cursor"].as_str().unwrap().to_owned());
    }
    let inserted = writer.await.unwrap();
    assert_eq!(inserted, 60);

    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no row twice");
    let original_seen: Vec<&String> = seen.iter().filter(|id| original.contains(id)).collect();
    assert_eq!(original_seen.len(), 250, "every original row exactly once");
    assert_eq!(
        original_seen,
        original.iter().collect::<Vec<_>>(),
        "in creation order"
    );
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(sorted, seen, "pages follow id order");
}

#[tokio::test]
async fn search_results_page_by_relevance_without_repeats() {
    let app = TestApp::spawn().await;
    let token = app.signup("searchpager@example.com").await;
    for i in 0..23 {
        app.create_customer(
            &token,
            json!({"first_name": "Jonathan", "last_name": format!("Smith{i}")}),
        )
        .await;
    }
    app.create_customer(&token, json!({"first_name": "Zed", "last_name": "Other"}))
        .await;
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/data/customers?q=jonathan&limit=5&cursor={c}"),
            None => "/api/data/customers?q=jonathan&limit=5".to_owned(),
        };
        let page = app.get(&path, &token).await;
        for c in page.data()["items"].as_array().unwrap() {
            assert!(seen.insert(c["id"].as_str().unwrap().to_owned()));
        }
        if page.data()["has_more"] == false {
            break;
        }
        cursor = Some(page.data()["next_cursor"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen.len(), 23);
}
