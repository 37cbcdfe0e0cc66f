//! The metrics review as a test: every metric the API and a worker export (after real
//! requests and real jobs) has HELP text, a `fieldwork_` name in base units — counters end in
//! `_total`, histograms in `_seconds` or `_bytes` — and only bounded labels; the queue gauges
//! come from the fleet's shared sample.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use fieldwork_core::queue::{JobOptions, NewJob, insert_many};
use fieldwork_tests::TestApp;
use fieldwork_worker::test_kinds::TEST_TABLES_SQL;

use crate::support::{InProcessWorker, wait_for};

/// Labels that would make a series per entity, tenant or process start.
const UNBOUNDED: [&str; 9] = [
    "id",
    "job_id",
    "user_id",
    "tenant",
    "tenant_id",
    "email",
    "path",
    "url",
    "worker",
];

/// `name{labels} value` lines → metric family → label names seen (and `status` values).
fn families(text: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let name_end = line.find(['{', ' ']).unwrap();
        let entry = out.entry(line[..name_end].to_owned()).or_default();
        if let (Some(open), Some(close)) = (line.find('{'), line.rfind('}')) {
            for pair in line[open + 1..close].split("\",") {
                let (k, v) = pair.split_once("=\"").unwrap();
                entry.insert(k.trim_start_matches(',').to_owned());
                if k == "status" {
                    entry.insert(format!("status={}", v.trim_end_matches('"')));
                }
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_has_help_a_base_unit_name_and_bounded_labels() {
    let app = TestApp::spawn().await;
    let token = app.signup("metrics-review@example.com").await;
    app.get("/api/data/customers", &token).await;
    app.get(
        &format!("/api/data/customers/{}", uuid::Uuid::now_v7()),
        &token,
    )
    .await;
    app.client
        .request("BREW".parse().unwrap(), app.url("/api/data/customers"))
        .send()
        .await
        .unwrap();
    let su = app.db.superuser_pool().await;
    sqlx::raw_sql(TEST_TABLES_SQL).execute(&su).await.unwrap();
    let worker = InProcessWorker::start(&app.db, "default=2", None).await;
    let job = NewJob::raw(
        "test.record",
        serde_json::value::to_raw_value(&serde_json::json!({"label": "m"})).unwrap(),
        "default",
        1,
        25,
        JobOptions::default(),
    )
    .unwrap();
    let system = app.db.system_pool();
    let mut tx = fieldwork_core::db::begin_system(&system).await.unwrap();
    insert_many(&mut tx, &[job]).await.unwrap();
    tx.commit().await.unwrap();
    let client = reqwest::Client::new();
    let text = wait_for(
        Duration::from_secs(30),
        "a completed job in /metrics",
        || async {
            let t = client
                .get(worker.url("/metrics"))
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            (t.contains("fieldwork_jobs_completed_total{") && t.contains("fieldwork_queue_jobs{"))
                .then_some(t)
        },
    )
    .await;

    let mut types = BTreeMap::new();
    let mut helps = BTreeSet::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next(), words.next()) {
            (Some("#"), Some("TYPE"), Some(name), Some(kind)) => {
                types.insert(name.to_owned(), kind.to_owned());
            }
            (Some("#"), Some("HELP"), Some(name), Some(_)) => {
                helps.insert(name.to_owned());
            }
            _ => {}
        }
    }
    assert!(types.len() >= 15, "{types:?}");
    for (name, kind) in &types {
        assert!(name.starts_with("fieldwork_"), "{name}");
        assert!(helps.contains(name), "{name} has no HELP text");
        match kind.as_str() {
            "counter" => assert!(name.ends_with("_total"), "counter {name}"),
            "histogram" => assert!(
                name.ends_with("_seconds") || name.ends_with("_bytes"),
                "histogram {name} is not in a base unit"
            ),
            "gauge" => assert!(!name.ends_with("_total"), "gauge {name}"),
            other => panic!("{name} is a {other}: use histograms, not summaries"),
        }
    }
    for (family, labels) in families(&text) {
        for bad in UNBOUNDED {
            assert!(
                !labels.contains(bad),
                "{family} has the unbounded label {bad}"
            );
        }
        for status in labels.iter().filter_map(|l| l.strip_prefix("status=")) {
            assert!(
                ["1xx", "2xx", "3xx", "4xx", "5xx"].contains(&status),
                "{family}: status {status} is not a class"
            );
        }
    }
    assert!(
        text.contains(r#"fieldwork_http_requests_total{method="other",route="/api/data/customers",status="4xx"}"#),
        "a made-up method counts as other"
    );
    for state in ["scheduled", "available", "running", "retryable"] {
        assert!(
            text.contains(&format!(
                r#"fieldwork_queue_jobs{{queue="default",state="{state}"}}"#
            )),
            "queue gauge for {state}"
        );
    }
    assert!(text.contains(r#"fieldwork_queue_paused{queue="default"} 0"#));
    assert!(text.contains("fieldwork_queue_stats_sampled_timestamp_seconds "));
    assert!(text.contains(r#"fieldwork_db_pool_max_connections{pool="system"}"#));
    worker.stop().await;
}
