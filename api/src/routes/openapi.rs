//! The OpenAPI 3.1 document, assembled where the routes are: operations come from the
//! `#[utoipa::path]` attributes of the handlers that `routes::api_routes` registers (the same
//! attributes that route them), schemas from the core types and `crate::schemas`, the
//! `POST /api/actions` body from the action registry (`fieldwork_core::actions::ACTIONS`).
//! Served at `/api/openapi.json`.

use std::sync::OnceLock;

use fieldwork_core::ErrorCode;
use fieldwork_core::actions::ACTIONS;
use serde_json::{Map, Value, json};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::schemas::{ErrorBody, ErrorEnvelope};

/// The document's fixed parts; `routes::api_routes` adds every operation.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Fieldwork API",
        description = "Back office of a field-service business. Every response is an envelope: \
            `{\"success\": true, \"data\": ...}` or `{\"success\": false, \"error\": {\"code\", \
            \"message\", \"details\"}}`; error codes are listed in `ErrorCode` and \
            docs/ERROR_CODES.md. Money is a decimal string such as \"59.98\"."
    ),
    components(schemas(ErrorEnvelope, ErrorBody, ErrorCode)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Accounts and sessions"),
        (name = "customers", description = "Customers (archive and restore are actions)"),
        (name = "products", description = "Products sold on invoices"),
        (name = "tickets", description = "Jobs on site; status changes through actions"),
        (name = "invoices", description = "Invoices with items; status changes through actions"),
        (name = "scheduled_messages", description = "Messages to customers: scheduled by actions and flows, sent by the worker"),
        (name = "actions", description = "State changes: POST /api/actions"),
        (name = "audit_log", description = "Read-only audit trail"),
        (name = "webhooks", description = "Webhook subscriptions (signed deliveries of the tenant's events) and their delivery attempts"),
        (name = "events", description = "Live stream of the tenant's events (Server-Sent Events)"),
        (name = "operations", description = "Health, readiness and this document"),
        (name = "unsubscribe", description = "Public one-click unsubscribe links of emails (HTML, no session)"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("session_token"))),
        );
    }
}

/// The document as JSON, built once: the generated operations plus the `POST /api/actions`
/// body as a `oneOf` with one variant per registered action.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = serde_json::to_value(super::api_routes().into_openapi())
            .unwrap_or_else(|e| json!({ "openapi": "3.1.0", "error": e.to_string() }));
        qualify_operation_ids(&mut doc);
        describe_actions(&mut doc);
        describe_ticket_attributes(&mut doc);
        crate::openapi_constraints::apply(&mut doc);
        doc
    })
}

/// utoipa names each operation after its handler (`list`, `get`, ...), which repeats across
/// entities; OpenAPI wants them unique, so each is prefixed with its tag: `tickets_list`.
fn qualify_operation_ids(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in item.values_mut().filter_map(Value::as_object_mut) {
            let tag = op
                .get("tags")
                .and_then(|t| t.get(0))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let id = op
                .get("operationId")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if let (Some(tag), Some(id)) = (tag, id) {
                op.insert("operationId".into(), json!(format!("{tag}_{id}")));
            }
        }
    }
}

fn describe_actions(doc: &mut Value) {
    let mut variants = Vec::new();
    let mut table =
        String::from("| domain.action | payload | returns | what it does |\n|---|---|---|---|\n");
    let mut schemas = Map::new();
    for spec in ACTIONS {
        let (name, schema) = (spec.payload)();
        schemas.insert(
            name.to_string(),
            serde_json::to_value(schema).unwrap_or(Value::Null),
        );
        let reference = format!("#/components/schemas/{name}");
        variants.push(json!({
            "type": "object",
            "title": spec.name(),
            "description": format!("{} Returns a {}.", spec.summary, spec.returns),
            "required": ["domain", "action", "data"],
            "additionalProperties": false,
            "properties": {
                "domain": {"type": "string", "enum": [spec.domain]},
                "action": {"type": "string", "enum": [spec.action]},
                "data": {"$ref": reference},
            }
        }));
        table.push_str(&format!(
            "| `{}` | `{}` | `{}` | {} |\n",
            spec.name(),
            name,
            spec.returns,
            spec.summary
        ));
    }
    if let Some(all) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        all.extend(schemas);
    }
    if let Some(op) = doc
        .pointer_mut("/paths/~1api~1actions/post")
        .and_then(Value::as_object_mut)
    {
        let description = op
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        op.insert(
            "description".into(),
            json!(format!("{description}\n\n{table}")),
        );
        op.insert(
            "requestBody".into(),
            json!({
                "required": true,
                "content": {"application/json": {"schema": {"oneOf": variants}}}
            }),
        );
    }
}

/// The `TicketAttributes` component that `extracted_attributes` and the `attributes` of
/// `ticket.confirm_attributes` refer to, rendered from the checked-in attribute schema
/// (`templates/prompts/ticket_attributes.schema.json`), the single source.
fn describe_ticket_attributes(doc: &mut Value) {
    let schema = match fieldwork_core::extraction::schema() {
        Ok(s) => s.openapi_schema(),
        Err(e) => json!({"type": "object", "description": e.to_string()}),
    };
    if let Some(all) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        all.insert(
            fieldwork_core::extraction::ATTRIBUTES_COMPONENT.to_owned(),
            schema,
        );
    }
}
