//! The OpenAPI document describes the router exactly: every route of the API contract is
//! served and documented, every documented method is served and every served method is
//! documented, and every action of the registry is a variant of the `/api/actions` body.

use std::collections::BTreeSet;

use fieldwork_core::actions::ACTIONS;
use fieldwork_tests::TestApp;
use serde_json::Value;

/// The API contract's routes (DESIGN.md), with their methods.
const CONTRACT: &[(&str, &[&str])] = &[
    ("/healthz", &["GET"]),
    ("/readyz", &["GET"]),
    ("/api/openapi.json", &["GET"]),
    ("/api/auth/register", &["POST"]),
    ("/api/auth/login", &["POST"]),
    ("/api/auth/logout", &["POST"]),
    ("/api/auth/me", &["GET", "PATCH"]),
    ("/api/data/customers", &["GET", "POST"]),
    ("/api/data/customers/{id}", &["GET", "PATCH", "DELETE"]),
    ("/api/data/products", &["GET", "POST"]),
    ("/api/data/products/{id}", &["GET", "PATCH", "DELETE"]),
    ("/api/data/tickets", &["GET", "POST"]),
    ("/api/data/tickets/week", &["GET"]),
    ("/api/data/tickets/{id}", &["GET", "PATCH", "DELETE"]),
    ("/api/data/invoices", &["GET", "POST"]),
    ("/api/data/invoices/{id}", &["GET", "PATCH", "DELETE"]),
    ("/api/data/scheduled_messages", &["GET", "POST"]),
    (
        "/api/data/scheduled_messages/{id}",
        &["GET", "PATCH", "DELETE"],
    ),
    ("/api/data/scheduled_messages/{id}/preview", &["GET"]),
    ("/u/{token}", &["GET", "POST"]),
    ("/api/data/audit_log", &["GET"]),
    ("/api/data/audit_log/{id}", &["GET"]),
    ("/api/actions", &["POST"]),
];

async fn document(app: &TestApp) -> Value {
    let r = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn documented_methods(doc: &Value, path: &str) -> BTreeSet<String> {
    doc["paths"][path]
        .as_object()
        .map(|ops| ops.keys().map(|m| m.to_uppercase()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_lists_every_route_of_the_contract() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let documented: BTreeSet<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let contract: BTreeSet<&str> = CONTRACT.iter().map(|(p, _)| *p).collect();
    assert_eq!(documented, contract, "documented paths = contract paths");
    for (path, methods) in CONTRACT {
        let expected: BTreeSet<String> = methods.iter().map(|m| (*m).to_owned()).collect();
        assert_eq!(documented_methods(&doc, path), expected, "{path}");
    }
    for code in fieldwork_core::ErrorCode::ALL {
        assert!(
            doc["components"]["schemas"]["ErrorCode"]["enum"]
                .as_array()
                .unwrap()
                .contains(&Value::from(code.as_str())),
            "{} documented",
            code.as_str()
        );
    }
}

#[tokio::test]
async fn the_router_serves_exactly_the_documented_methods_on_every_path() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let id = uuid::Uuid::now_v7().to_string();
    for path in doc["paths"].as_object().unwrap().keys() {
        let concrete = path.replace("{id}", &id);
        let documented = documented_methods(&doc, path);
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            // Unauthenticated and without a body: nothing is changed, but routing decides
            // (405 from the router) before any handler runs.
            let r = app
                .client
                .request(method.parse().unwrap(), app.url(&concrete))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            let routed = status != 405
                && body["error"]["message"] != "The requested resource was not found.";
            assert_eq!(
                routed,
                documented.contains(method),
                "{method} {path}: {status} {body}"
            );
        }
    }
}

#[tokio::test]
async fn every_registered_action_is_a_variant_of_the_actions_request_body() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let variants = doc["paths"]["/api/actions"]["post"]["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
        .as_array()
        .unwrap();
    let titles: BTreeSet<&str> = variants
        .iter()
        .map(|v| v["title"].as_str().unwrap())
        .collect();
    let registered: Vec<String> = ACTIONS.iter().map(|a| a.name()).collect();
    assert_eq!(titles.len(), ACTIONS.len());
    for name in &registered {
        assert!(titles.contains(name.as_str()), "{name} documented");
    }
    for v in variants {
        let reference = v["properties"]["data"]["$ref"].as_str().unwrap();
        let schema = reference.trim_start_matches("#/components/schemas/");
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} defined"
        );
    }
    for name in [
        "customer.archive",
        "ticket.confirm_attributes",
        "ticket.reject_attributes",
        "invoice.mark_paid",
        "message.send_now",
    ] {
        assert!(registered.iter().any(|r| r == name), "{name}");
    }
}
