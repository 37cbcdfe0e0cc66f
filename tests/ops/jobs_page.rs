//! The jobs page over HTTP: off without `OPS_TOKEN`, behind the token (bearer, basic, login
//! cookie), CSRF on every form, HTML escaping of job data, filters and paging, the "why is
//! it not running" answers, and the actions.

use std::time::Duration;

use base64::Engine;
use fieldwork_core::queue::{Enqueued, JobOptions, NewJob, insert_many};
use fieldwork_tests::TestDb;
use serde_json::json;

use crate::support::{InProcessWorker, no_redirects, wait_for};

const TOKEN: &str = "ops-token-for-the-tests-0123456789";

async fn enqueue(db: &TestDb, queue: &str, args: serde_json::Value, o: JobOptions) -> Enqueued {
    let job = NewJob::raw(
        "test.record",
        serde_json::value::to_raw_value(&args).unwrap(),
        queue,
        1,
        25,
        o,
    )
    .unwrap();
    let pool = db.system_pool();
    let mut tx = fieldwork_core::db::begin_system(&pool).await.unwrap();
    let id = insert_many(&mut tx, &[job]).await.unwrap()[0];
    tx.commit().await.unwrap();
    id
}

async fn page(client: &reqwest::Client, url: &str) -> (u16, String) {
    let r = client.get(url).bearer_auth(TOKEN).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The CSRF token the page puts into its forms.
fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    html[at..at + 64].to_owned()
}

fn basic() -> String {
    let creds = base64::engine::general_purpose::STANDARD.encode(format!("ops:{TOKEN}"));
    format!("Basic {creds}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_ops_token_the_jobs_page_is_not_served() {
    let db = TestDb::new().await;
    let worker = InProcessWorker::start(&db, "default", None).await;
    let r = no_redirects()
        .get(worker.url("/ops/"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = no_redirects()
        .get(worker.url("/ops/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jobs_page_admits_only_the_token_by_bearer_basic_auth_or_the_login_cookie() {
    let db = TestDb::new().await;
    let worker = InProcessWorker::start(&db, "default", Some(TOKEN)).await;
    let c = no_redirects();
    let r = c
        .get(worker.url("/ops/jobs?state=available"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "browsers go to the login form");
    assert_eq!(
        r.headers()["location"],
        "/ops/login?next=%2Fops%2Fjobs%3Fstate%3Davailable"
    );
    let r = c.get(worker.url("/ops/")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    for wrong in [
        "Bearer nope",
        "Bearer ops-token-for-the-tests-012345678",
        "Basic !!",
    ] {
        let r = c
            .get(worker.url("/ops/"))
            .header("authorization", wrong)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{wrong}");
    }
    let r = c
        .get(worker.url("/ops/"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let r = c
        .get(worker.url("/ops/"))
        .header("authorization", basic())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let r = c
        .post(worker.url("/ops/login"))
        .form(&[("token", "guess"), ("next", "/ops/jobs")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("set-cookie").is_none());
    let r = c
        .post(worker.url("/ops/login"))
        .form(&[("token", TOKEN), ("next", "//evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/ops/", "no open redirect");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains(TOKEN),
        "the cookie is derived, not the token"
    );
    let session = cookie.split(';').next().unwrap().to_owned();
    let r = c
        .get(worker.url("/ops/jobs"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_need_the_csrf_token_unless_the_request_carries_a_bearer_token() {
    let db = TestDb::new().await;
    let worker = InProcessWorker::start(&db, "default", Some(TOKEN)).await;
    let job = enqueue(&db, "held", json!({}), JobOptions::default()).await;
    let c = no_redirects();
    let (_, html) = page(&c, &worker.url(&format!("/ops/jobs/{}", job.id))).await;
    let token = csrf(&html);
    let url = worker.url(&format!("/ops/jobs/{}/discard", job.id));
    let post = |form: Vec<(&'static str, String)>| {
        c.post(&url).header("authorization", basic()).form(&form)
    };
    assert_eq!(post(vec![]).send().await.unwrap().status(), 403);
    assert_eq!(
        post(vec![("csrf", "0".repeat(64))])
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let r = post(vec![("csrf", token.clone())])
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "cross-site requests never pass");
    let r = post(vec![("csrf", token)]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        format!("/ops/jobs/{}?notice=discarded", job.id).as_str()
    );
    let (_, html) = page(
        &c,
        &worker.url(&format!("/ops/jobs/{}?notice=discarded", job.id)),
    )
    .await;
    assert!(html.contains("id=\"job-state\">discarded<"), "{html}");
    assert!(html.contains("discarded by an operator (jobs page)"));

    // A script with the bearer token needs no CSRF token.
    let r = c
        .post(worker.url("/ops/queues/held/pause"))
        .bearer_auth(TOKEN)
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/ops/?notice=paused");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_page_escapes_its_data_and_says_why_the_job_is_not_running() {
    let db = TestDb::new().await;
    let worker = InProcessWorker::start(&db, "default", Some(TOKEN)).await;
    let c = no_redirects();
    for _ in 0..3 {
        enqueue(&db, "held", json!({}), JobOptions::default().priority(0)).await;
    }
    let job = enqueue(
        &db,
        "held",
        json!({"note": "<script>alert('x')</script>"}),
        JobOptions::default(),
    )
    .await;
    let url = worker.url(&format!("/ops/jobs/{}", job.id));
    let (status, html) = page(&c, &url).await;
    assert_eq!(status, 200);
    assert!(!html.contains("<script>alert"), "arguments are escaped");
    assert!(html.contains("&lt;script&gt;alert("), "{html}");
    assert!(
        html.contains("waits behind 3 jobs of queue held: 3 of higher priority"),
        "{html}"
    );

    let (_, front) = page(&c, &worker.url("/ops/")).await;
    let r = c
        .post(worker.url("/ops/queues/held/pause"))
        .header("authorization", basic())
        .form(&[("csrf", csrf(&front))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, html) = page(&c, &url).await;
    assert!(html.contains("Its queue held is paused"), "{html}");
    let (_, front) = page(&c, &worker.url("/ops/?notice=paused")).await;
    assert!(front.contains("The queue is paused"), "{front}");
    assert!(front.contains("id=\"resume-held\""), "{front}");

    let later = enqueue(
        &db,
        "default",
        json!({}),
        JobOptions::default().run_in(Duration::from_secs(7200)),
    )
    .await;
    let (_, html) = page(&c, &worker.url(&format!("/ops/jobs/{}", later.id))).await;
    assert!(html.contains("It is scheduled for"), "{html}");
    assert!(
        html.contains("(in 1h 59m)") || html.contains("(in 2h 0m)"),
        "{html}"
    );
    let (status, _) = page(&c, &worker.url("/ops/jobs/999999999")).await;
    assert_eq!(status, 404);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jobs_list_filters_by_state_kind_and_queue_and_pages_by_id() {
    let db = TestDb::new().await;
    let worker = InProcessWorker::start(&db, "default", Some(TOKEN)).await;
    let c = no_redirects();
    let jobs: Vec<NewJob> = (0..120)
        .map(|i| {
            NewJob::raw(
                "test.record",
                serde_json::value::to_raw_value(&json!({"i": i})).unwrap(),
                "paged",
                1,
                25,
                JobOptions::default(),
            )
            .unwrap()
        })
        .collect();
    let pool = db.system_pool();
    let mut tx = fieldwork_core::db::begin_system(&pool).await.unwrap();
    insert_many(&mut tx, &jobs).await.unwrap();
    tx.commit().await.unwrap();
    enqueue(&db, "other", json!({}), JobOptions::default()).await;
    let rows = |html: &str| {
        html.matches("<td class=\"num\"><a href=\"/ops/jobs/")
            .count()
    };
    let (_, first) = page(
        &c,
        &worker.url("/ops/jobs?state=available&queue=paged&kind=test.record"),
    )
    .await;
    assert_eq!(rows(&first), 50);
    // The "Older" link; its URL is a template value, HTML-escaped like every value.
    let next = |html: &str| {
        let html = html.replace("&#x2f;", "/").replace("&amp;", "&");
        let end = html.find("\" id=\"next-page\"")?;
        let start = html[..end].rfind("href=\"")? + 6;
        Some(html[start..end].to_owned())
    };
    let (_, second) = page(&c, &worker.url(&next(&first).unwrap())).await;
    assert_eq!(rows(&second), 50);
    let (_, third) = page(&c, &worker.url(&next(&second).unwrap())).await;
    assert_eq!(rows(&third), 20);
    assert!(!third.contains("id=\"next-page\""));
    let (_, none) = page(&c, &worker.url("/ops/jobs?kind=no.such.kind")).await;
    assert!(none.contains("No job matches."));
    let (status, bad) = page(&c, &worker.url("/ops/jobs?state=bogus")).await;
    assert_eq!(status, 200);
    assert!(bad.contains("unknown job state"), "{bad}");
    // The front page counts the queue.
    let (_, front) = wait_for(Duration::from_secs(10), "the queue row", || async {
        let (s, h) = page(&c, &worker.url("/ops/")).await;
        h.contains("id=\"queue-paged\"").then_some((s, h))
    })
    .await;
    assert!(front.contains("state=available\">120</a>"), "{front}");
    worker.stop().await;
}
