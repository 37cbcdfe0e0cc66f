//! The jobs page in a real headless browser (Debian's Chromium through chromedriver), served
//! by a real `fieldwork-worker` process: log in, look at the queues, filter the jobs, open a
//! failed job, retry it, see it complete. With `FIELDWORK_SCREENSHOTS=<dir>` the pages are
//! saved there (docs/img/ holds the committed ones).

use std::time::Duration;

use fieldwork_core::db::begin_tenant;
use fieldwork_core::ids::UserId;
use fieldwork_core::queue::{JobOptions, NewJob, control, insert, insert_many};
use fieldwork_tests::TestDb;
use fieldwork_worker::test_kinds::TEST_TABLES_SQL;
use serde_json::json;

use crate::support::{Process, bin, free_port, wait_for, wait_http};
use crate::webdriver::Browser;

const TOKEN: &str = "browser-test-ops-token-0123456789";

fn job(kind: &str, queue: &str, args: serde_json::Value, o: JobOptions) -> NewJob {
    let args = serde_json::value::to_raw_value(&args).unwrap();
    NewJob::raw(kind, args, queue, 1, 25, o).unwrap()
}

/// A little of everything, so the pages show what they are for.
fn seed() -> Vec<NewJob> {
    let o = JobOptions::default;
    let mut jobs = Vec::new();
    for i in 0..6 {
        jobs.push(job(
            "test.record",
            "email",
            json!({"label": format!("reminder {i}")}),
            o(),
        ));
    }
    for h in [2, 26, 50] {
        jobs.push(job(
            "test.record",
            "email",
            json!({"label": "appointment reminder"}),
            o().run_in(Duration::from_secs(h * 3600)),
        ));
    }
    for i in 0..4 {
        jobs.push(job(
            "test.record",
            "llm",
            json!({"label": format!("extract {i}")}),
            o(),
        ));
    }
    jobs
}

async fn save(browser: &Browser, name: &str) {
    let png = browser.screenshot().await;
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    if let Ok(dir) = std::env::var("FIELDWORK_SCREENSHOTS") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(std::path::Path::new(&dir).join(name), png).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_browser_an_operator_logs_in_filters_opens_a_failed_job_retries_it_and_sees_it_complete()
 {
    let db = TestDb::new().await;
    let su = db.superuser_pool().await;
    sqlx::raw_sql(TEST_TABLES_SQL).execute(&su).await.unwrap();
    let system = db.system_pool();
    control::pause(&system, "llm", "the browser test")
        .await
        .unwrap();
    let mut tx = fieldwork_core::db::begin_system(&system).await.unwrap();
    insert_many(&mut tx, &seed()).await.unwrap();
    tx.commit().await.unwrap();
    // The job that fails: a tenant's, failing its only attempt, then succeeding on a retry.
    let tenant: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO users (email, password_hash, business_name)
         VALUES ('pipes@example.com', 'x', 'Pipes Ltd') RETURNING id",
    )
    .fetch_one(&su)
    .await
    .unwrap();
    let mut tx = begin_tenant(&db.app_pool(), UserId(tenant)).await.unwrap();
    let flaky = job(
        "test.flaky",
        "default",
        json!({"fail_times": 1}),
        JobOptions {
            max_attempts: Some(1),
            ..JobOptions::default()
        },
    );
    let failed = insert(&mut tx, flaky).await.unwrap().id.0;
    tx.commit().await.unwrap();

    let addr = format!("127.0.0.1:{}", free_port());
    let worker = Process::spawn(
        &bin("fieldwork-worker", "FIELDWORK_WORKER_BIN"),
        &[],
        &[
            ("DATABASE_URL", &db.url),
            ("METRICS_ADDR", &addr),
            ("OPS_TOKEN", TOKEN),
            ("FIELDWORK_TEST_KINDS", "1"),
            ("WORKER_QUEUES", "default=2,email=2,llm=2"),
            ("JOB_POLL_INTERVAL_MS", "200"),
            ("RUST_LOG", "warn"),
        ],
        "worker-ops",
    );
    wait_http(&format!("http://{addr}/healthz"), "the worker").await;
    let state = |id: i64| {
        let su = su.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT state::text FROM jobs WHERE id = $1")
                .bind(id)
                .fetch_one(&su)
                .await
                .unwrap()
        }
    };
    wait_for(
        Duration::from_secs(30),
        "the flaky job to be discarded",
        || async { (state(failed).await == "discarded").then_some(()) },
    )
    .await;

    let browser = Browser::start().await;
    let base = format!("http://{addr}");
    browser.goto(&format!("{base}/ops/jobs")).await;
    assert!(
        browser.url().await.contains("/ops/login?next="),
        "sent to the login form"
    );
    browser.type_into("#token", TOKEN).await;
    browser.click("#login-submit").await;
    assert_eq!(browser.url().await, format!("{base}/ops/jobs"));

    browser.goto(&format!("{base}/ops/")).await;
    let llm = browser.text("#queue-llm").await;
    assert!(llm.contains("paused"), "{llm}");
    save(&browser, "ops-queues.png").await;

    browser.click("#nav-jobs").await;
    save(&browser, "ops-jobs.png").await;
    browser
        .click("#filter-state option[value=\"discarded\"]")
        .await;
    browser.type_into("#filter-queue", "default").await;
    browser.click("#filter-submit").await;
    let url = browser.url().await;
    assert!(
        url.contains("state=discarded") && url.contains("queue=default"),
        "{url}"
    );
    let listed = browser.text("#jobs tbody").await;
    assert!(
        listed.contains("test.flaky") && !listed.contains("test.record"),
        "{listed}"
    );

    browser.click(&format!("#job-{failed}")).await;
    assert_eq!(browser.text("#job-state").await, "discarded");
    let why = browser.text("#why").await;
    assert!(why.contains("It was discarded"), "{why}");
    assert!(
        browser
            .text("#errors")
            .await
            .contains("flaky failure on attempt 1")
    );
    let facts = browser.text("#facts").await;
    assert!(
        facts.contains(&tenant.to_string()),
        "the tenant id: {facts}"
    );
    save(&browser, "ops-job.png").await;

    browser.click("#retry").await;
    let notice = browser.text("#notice").await;
    assert!(notice.contains("available again"), "{notice}");
    wait_for(
        Duration::from_secs(30),
        "the retried job to complete",
        || async {
            browser.refresh().await;
            (browser.text("#job-state").await == "completed").then_some(())
        },
    )
    .await;
    let why = browser.text("#why").await;
    assert!(
        why.contains("completed at") && why.contains("attempt 2 of 2"),
        "{why}"
    );
    drop(browser);
    drop(worker);
}
