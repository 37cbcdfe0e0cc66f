//! A real Prometheus (Debian's `prometheus` package) scraping a real `fieldwork-api` (on its
//! internal METRICS_ADDR; its public LISTEN_ADDR has no /metrics) and a real `fieldwork-worker` with `ops/prometheus/prometheus.yml` (targets rewritten to free
//! ports): both targets up, every dashboard panel expression and every alert/recording rule
//! evaluates without error, every rule evaluated healthy, and `promtool` checks the rules
//! and runs their unit tests. Also: every exported metric follows the naming rules.

use std::collections::BTreeSet;
use std::time::Duration;

use fieldwork_tests::TestDb;
use serde_json::Value;

use crate::support::{Process, bin, free_port, repo, tool, wait_for, wait_http};

fn promtool(args: &[&str]) {
    let out = std::process::Command::new(tool("promtool", "prometheus"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `ops/prometheus/prometheus.yml` with its targets pointed at the processes under test,
/// scraping and evaluating every second.
fn test_config(api: &str, worker: &str, rules: &str) -> String {
    let original = std::fs::read_to_string(repo().join("ops/prometheus/prometheus.yml")).unwrap();
    for needle in ["127.0.0.1:9463", "127.0.0.1:9464", "- alerts.yml", "15s"] {
        assert!(
            original.contains(needle),
            "prometheus.yml changed: no {needle}"
        );
    }
    original
        .replace("127.0.0.1:9463", api)
        .replace("127.0.0.1:9464", worker)
        .replace("- alerts.yml", &format!("- {rules}"))
        .replace("15s", "1s")
}

/// Dashboard expressions with Grafana's variables filled in.
fn dashboard_expressions() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo().join("ops/grafana/fieldwork.json")).unwrap();
    let dash: Value = serde_json::from_str(&text).unwrap();
    let vars: Vec<&str> = dash["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert!(vars.contains(&"datasource"), "the datasource is a variable");
    let mut out = Vec::new();
    for panel in dash["panels"].as_array().unwrap() {
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(
            panel["datasource"]["uid"], "${datasource}",
            "{}",
            panel["title"]
        );
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"]
                .as_str()
                .unwrap()
                .replace("$__rate_interval", "1m")
                .replace("$queue", ".*");
            out.push((panel["title"].as_str().unwrap().to_owned(), expr));
        }
    }
    out
}

async fn query(client: &reqwest::Client, prom: &str, expr: &str) -> Value {
    let resp = client
        .get(format!("{prom}/api/v1/query"))
        .query(&[("query", expr)])
        .send()
        .await
        .unwrap();
    resp.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_api_and_a_worker_and_evaluates_every_dashboard_and_alert_expression()
 {
    let rules = repo().join("ops/prometheus/alerts.yml");
    let rules = rules.to_str().unwrap();
    promtool(&["check", "rules", rules]);
    promtool(&[
        "test",
        "rules",
        repo()
            .join("ops/prometheus/alerts_test.yml")
            .to_str()
            .unwrap(),
    ]);

    let db = TestDb::new().await;
    let (api_addr, api_metrics_addr, worker_addr) = (
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    );
    let _api = Process::spawn(
        &bin("fieldwork-api", "FIELDWORK_API_BIN"),
        &[],
        &[
            ("DATABASE_URL", &db.url),
            ("LISTEN_ADDR", &api_addr),
            ("METRICS_ADDR", &api_metrics_addr),
            ("RUST_LOG", "warn"),
        ],
        "api",
    );
    let _worker = Process::spawn(
        &bin("fieldwork-worker", "FIELDWORK_WORKER_BIN"),
        &[],
        &[
            ("DATABASE_URL", &db.url),
            ("METRICS_ADDR", &worker_addr),
            ("FIELDWORK_TEST_KINDS", "1"),
            ("JOB_STATS_INTERVAL_SECS", "1"),
            ("RUST_LOG", "warn"),
        ],
        "worker",
    );
    wait_http(
        &format!("http://{api_metrics_addr}/metrics"),
        "the API's /metrics on its METRICS_ADDR",
    )
    .await;
    wait_http(&format!("http://{api_addr}/healthz"), "the API's /healthz").await;
    let public = reqwest::get(format!("http://{api_addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(
        public.status(),
        404,
        "/metrics is not served on LISTEN_ADDR"
    );
    wait_http(
        &format!("http://{worker_addr}/metrics"),
        "the worker's /metrics",
    )
    .await;

    let dir = std::env::temp_dir().join(format!("fw-prom-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, test_config(&api_metrics_addr, &worker_addr, rules)).unwrap();
    promtool(&["check", "config", config.to_str().unwrap()]);
    let prom_addr = format!("127.0.0.1:{}", free_port());
    let prometheus = Process::spawn(
        &tool("prometheus", "prometheus"),
        &[
            &format!("--config.file={}", config.display()),
            &format!("--storage.tsdb.path={}", dir.join("data").display()),
            &format!("--web.listen-address={prom_addr}"),
            "--log.level=warn",
        ],
        &[],
        "prometheus",
    );
    let prom = format!("http://{prom_addr}");
    let client = reqwest::Client::new();
    wait_http(&format!("{prom}/-/ready"), "Prometheus to be ready").await;

    // Both targets scraped and up.
    let ups = wait_for(Duration::from_secs(60), "both targets up", || async {
        let r = query(&client, &prom, "up == 1").await;
        let jobs: BTreeSet<String> = r["data"]["result"]
            .as_array()?
            .iter()
            .filter_map(|s| s["metric"]["job"].as_str().map(str::to_owned))
            .collect();
        (jobs.len() == 2).then_some(jobs)
    })
    .await;
    assert_eq!(
        ups.into_iter().collect::<Vec<_>>(),
        ["fieldwork-api", "fieldwork-worker"]
    );
    // The worker's queue gauges reached Prometheus (the shared sample is taken every second).
    wait_for(Duration::from_secs(30), "the queue gauges", || async {
        let r = query(
            &client,
            &prom,
            "max by (queue, state) (fieldwork_queue_jobs)",
        )
        .await;
        (r["data"]["result"].as_array().map_or(0, Vec::len) >= 4).then_some(())
    })
    .await;

    let expressions = dashboard_expressions();
    assert!(expressions.len() >= 25, "{} expressions", expressions.len());
    for (panel, expr) in &expressions {
        let r = query(&client, &prom, expr).await;
        assert_eq!(r["status"], "success", "panel {panel:?}: {expr}\n{r}");
    }

    // Every rule: evaluated by Prometheus itself without error, and once more through the API.
    let rules = wait_for(Duration::from_secs(30), "every rule evaluated", || async {
        let r: Value = client
            .get(format!("{prom}/api/v1/rules"))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let rules: Vec<Value> = r["data"]["groups"]
            .as_array()?
            .iter()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .collect();
        let evaluated = rules.iter().all(|r| {
            !r["lastEvaluation"]
                .as_str()
                .unwrap_or("0001")
                .starts_with("0001")
        });
        (evaluated && !rules.is_empty()).then_some(rules)
    })
    .await;
    let operations = std::fs::read_to_string(repo().join("docs/OPERATIONS.md")).unwrap();
    let mut alerts = 0;
    for rule in &rules {
        let name = rule["name"].as_str().unwrap();
        assert_eq!(rule["health"], "ok", "rule {name}: {}", rule["lastError"]);
        let expr = rule["query"].as_str().unwrap();
        let r = query(&client, &prom, expr).await;
        assert_eq!(r["status"], "success", "rule {name}: {expr}\n{r}");
        if rule["type"] == "alerting" {
            alerts += 1;
            let a = &rule["annotations"];
            for key in ["summary", "description", "runbook_url"] {
                assert!(
                    a[key].as_str().is_some_and(|s| !s.is_empty()),
                    "{name}: {key}"
                );
            }
            let url = a["runbook_url"].as_str().unwrap();
            let anchor = url.strip_prefix("docs/OPERATIONS.md#").unwrap_or("");
            assert_eq!(anchor, name.to_lowercase(), "{name}'s runbook_url");
            assert!(
                operations.contains(&format!("\n### {name}\n")),
                "docs/OPERATIONS.md has no section `### {name}`"
            );
        }
    }
    println!(
        "Prometheus evaluated {} dashboard expressions and {} rules ({alerts} alerts)",
        expressions.len(),
        rules.len()
    );
    assert!(alerts >= 12, "{alerts} alerts");
    drop(prometheus);
    let _ = std::fs::remove_dir_all(&dir);
}
