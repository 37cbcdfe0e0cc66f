//! Login abuse against a real `fieldwork-api` process, measured from the outside: its log
//! (a NUL in the email logs no ERROR) and its resident memory (concurrent logins stay within
//! a fixed budget set by the hashing slots; a flood of distinct huge emails leaves nothing
//! behind). Budgets, not timings: they hold on a loaded machine.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use fieldwork_tests::TestDb;
use fieldwork_tests::process::ApiProcess;
use serde_json::json;

const PASSWORD: &str = "correct horse battery";
/// argon2id's memory per hash with the crate's defaults (m = 19 MiB).
const ARGON2_MIB: u64 = 19;
const HASH_SLOTS: u64 = 2;
/// What 64 concurrent logins may add to the process at their peak: the hashing slots' memory
/// plus room for buffers, connections and allocator slack — not 64 hashes (1.2 GiB).
const LOGIN_BUDGET_MIB: u64 = HASH_SLOTS * ARGON2_MIB + 32;

async fn api() -> (TestDb, ApiProcess, reqwest::Client) {
    let db = TestDb::new().await;
    let slots = HASH_SLOTS.to_string();
    let api = ApiProcess::spawn(
        &db,
        &[
            ("PASSWORD_HASH_CONCURRENCY", slots.as_str()),
            ("LOGIN_LIMIT_PER_IP", "100000"),
            ("REGISTER_LIMIT_PER_IP", "100000"),
        ],
    )
    .await;
    (db, api, reqwest::Client::new())
}

async fn post(client: &reqwest::Client, url: String, body: serde_json::Value) -> u16 {
    client
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_nul_byte_in_the_login_email_is_a_401_and_logs_no_error() {
    let (_db, api, client) = api().await;
    let status = post(
        &client,
        api.url("/api/auth/login"),
        json!({"email": "owner\u{0}@mem.example", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(post(&client, api.url("/healthz"), json!({})).await, 405);
    let errors: Vec<_> = api
        .log_lines()
        .into_iter()
        .filter(|l| l["level"] == "ERROR")
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[tokio::test]
async fn sixty_four_concurrent_logins_stay_within_a_fixed_memory_budget() {
    let (_db, api, client) = api().await;
    let register = json!({"email": "mem@mem.example", "password": PASSWORD, "business_name": "M"});
    assert_eq!(
        post(&client, api.url("/api/auth/register"), register).await,
        201
    );
    let login = |password: &str| json!({"email": "mem@mem.example", "password": password});
    // Warm up: every hashing slot used once, the dummy hash computed.
    let warm: Vec<_> = (0..4)
        .map(|i| {
            post(
                &client,
                api.url("/api/auth/login"),
                login(if i % 2 == 0 {
                    PASSWORD
                } else {
                    "wrong-password"
                }),
            )
        })
        .collect();
    for w in warm {
        w.await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let baseline = api.rss_kib();

    let peak = Arc::new(AtomicU64::new(baseline));
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let sampler = {
        let (peak, pid) = (peak.clone(), api.pid);
        tokio::spawn(async move {
            loop {
                if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                    let rss = status
                        .lines()
                        .find(|l| l.starts_with("VmRSS:"))
                        .and_then(|l| l.split_whitespace().nth(1))
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(5)) => {}
                    _ = stopped.changed() => return,
                }
            }
        })
    };
    let mut logins = tokio::task::JoinSet::new();
    for i in 0..64 {
        let (client, url) = (client.clone(), api.url("/api/auth/login"));
        let body = login(if i % 2 == 0 {
            PASSWORD
        } else {
            "wrong-password"
        });
        logins.spawn(async move { post(&client, url, body).await });
    }
    let mut statuses = Vec::new();
    while let Some(s) = logins.join_next().await {
        statuses.push(s.unwrap());
    }
    let _ = stop.send(true);
    sampler.await.unwrap();
    let grown_mib = peak.load(Ordering::Relaxed).saturating_sub(baseline) / 1024;
    eprintln!(
        "64 concurrent logins, {HASH_SLOTS} hashing slots: baseline RSS {} MiB, peak +{grown_mib} MiB \
         (budget {LOGIN_BUDGET_MIB} MiB); statuses {:?}",
        baseline / 1024,
        count(&statuses)
    );
    assert!(
        statuses.iter().all(|s| [200, 401, 429, 503].contains(s)),
        "{statuses:?}"
    );
    assert!(
        grown_mib <= LOGIN_BUDGET_MIB,
        "RSS grew by {grown_mib} MiB, budget {LOGIN_BUDGET_MIB} MiB"
    );
}

fn count(statuses: &[u16]) -> Vec<(u16, usize)> {
    let mut out: Vec<(u16, usize)> = Vec::new();
    for s in statuses {
        match out.iter_mut().find(|(k, _)| k == s) {
            Some((_, n)) => *n += 1,
            None => out.push((*s, 1)),
        }
    }
    out.sort_unstable();
    out
}

#[tokio::test]
async fn a_thousand_distinct_huge_emails_do_not_grow_memory() {
    let (_db, api, client) = api().await;
    let mut after_round = Vec::new();
    for round in 0..5 {
        let mut sent = tokio::task::JoinSet::new();
        for i in 0..200 {
            let (client, url) = (client.clone(), api.url("/api/auth/login"));
            // 64 KiB each, every one different: an unbounded throttle would keep them all.
            let email = format!("{round}-{i}-{}@mem.example", "x".repeat(64 * 1024));
            sent.spawn(async move {
                post(
                    &client,
                    url,
                    json!({"email": email, "password": "whatever-pass"}),
                )
                .await
            });
            if sent.len() >= 25 {
                assert_eq!(sent.join_next().await.unwrap().unwrap(), 401);
            }
        }
        while let Some(s) = sent.join_next().await {
            assert_eq!(s.unwrap(), 401);
        }
        after_round.push(api.rss_kib());
    }
    let grown_mib = after_round[4].saturating_sub(after_round[0]) / 1024;
    eprintln!(
        "1,000 distinct 64 KiB emails: RSS after each 200: {:?} MiB",
        after_round.iter().map(|k| k / 1024).collect::<Vec<_>>()
    );
    // 800 more such emails kept anywhere would be 50 MiB.
    assert!(grown_mib <= 8, "RSS grew by {grown_mib} MiB after warm-up");
}
