//! Isolation behind PgBouncer in transaction pooling mode: the API and a poll-only worker run
//! through a pgbouncer with a server pool of two, two tenants' requests and jobs interleave on
//! those two server connections, and nothing crosses — each tenant sees and writes only its
//! own rows, each job runs under its own tenant — while no server connection ever carries a
//! role or a tenant from one transaction into the next.

use std::collections::HashSet;
use std::time::Duration;

use fieldwork_core::db::{self, DbRole, PoolConfig, begin_tenant};
use fieldwork_core::ids::UserId;
use fieldwork_core::queue::{JobOptions, enqueue_with};
use fieldwork_tests::app::test_config;
use fieldwork_tests::db::user_of;
use fieldwork_tests::pgbouncer::PgBouncer;
use fieldwork_tests::{TestApp, TestDb};
use fieldwork_worker::test_kinds::{RlsProbeJob, TEST_TABLES_SQL};
use fieldwork_worker::{WorkerContext, run_worker};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use tokio::task::JoinSet;

use crate::support::{test_settings, wait_for};

/// Server connections of pgbouncer: two, so every transaction shares them with the others.
const SERVER_POOL: u32 = 2;
const PER_TENANT: usize = 12;

/// What one server connection carries at the start of a transaction: its pid, its role, its
/// session-level role setting and tenant.
type ServerState = (i32, String, String, String);

async fn server_state(conn: &mut PgConnection) -> ServerState {
    sqlx::query_as(
        "SELECT pg_backend_pid(), current_user::text, current_setting('role'),
                coalesce(current_setting('app.current_user_id', true), '')",
    )
    .fetch_one(conn)
    .await
    .unwrap()
}

/// Opens a transaction on each of two client connections at once (so pgbouncer must give
/// them both server connections) and reports what each server connection carries.
async fn both_server_states(url: &str) -> Vec<ServerState> {
    let mut a = PgConnection::connect(url).await.unwrap();
    let mut b = PgConnection::connect(url).await.unwrap();
    let mut ta = a.begin().await.unwrap();
    let mut tb = b.begin().await.unwrap();
    let states = vec![server_state(&mut ta).await, server_state(&mut tb).await];
    ta.rollback().await.unwrap();
    tb.rollback().await.unwrap();
    states
}

fn assert_clean(states: &[ServerState], login: &str) {
    for (pid, user, role, tenant) in states {
        assert_eq!(
            (user.as_str(), role.as_str(), tenant.as_str()),
            (login, "none", ""),
            "server connection {pid} kept a role or a tenant from an earlier transaction"
        );
    }
}

async fn post(client: &reqwest::Client, url: String, token: &str, body: Value) -> Value {
    let r = client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["data"].clone()
}

async fn list_names(client: &reqwest::Client, url: String, token: &str) -> Vec<String> {
    let r = client.get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["first_name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn two_tenants_interleaved_through_pgbouncer_in_transaction_mode_never_cross_and_jobs_drain()
{
    let db = TestDb::new().await;
    let su = db.superuser_pool().await;
    sqlx::raw_sql(TEST_TABLES_SQL).execute(&su).await.unwrap();
    let bouncer = PgBouncer::start(&db, SERVER_POOL).await;
    let login = user_of(&db.url);
    let db_name = db.name.clone();

    // The API, through pgbouncer.
    let mut cfg = PoolConfig::new(&bouncer.url, "fieldwork-api");
    cfg.max_connections = 8;
    // Two server connections serve everything: on a loaded machine a transaction may wait
    // its turn for longer than the default acquire timeout.
    cfg.acquire_timeout = Duration::from_secs(60);
    let api_pool = db::pool(&cfg, DbRole::App).unwrap();
    let app = TestApp::serve(db, api_pool.clone(), test_config(&bouncer.url)).await;
    let a = app.signup("a@bouncer.example").await;
    let b = app.signup("b@bouncer.example").await;
    let (user_a, user_b) = (UserId(app.user_id(&a).await), UserId(app.user_id(&b).await));
    assert_clean(&both_server_states(&bouncer.url).await, &login);

    // A probe of the server connections, and of how many there are, all through the traffic.
    let probe_url = bouncer.url.clone();
    let (stop_probe, mut stopped) = tokio::sync::watch::channel(false);
    let su_probe = su.clone();
    let probe = tokio::spawn(async move {
        let (mut seen, mut most) = (Vec::new(), 0i64);
        loop {
            let mut conn = PgConnection::connect(&probe_url).await.unwrap();
            let mut tx = conn.begin().await.unwrap();
            seen.push(server_state(&mut tx).await);
            tx.rollback().await.unwrap();
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND usename = $2",
            )
            .bind(&db_name)
            .bind(user_of(&probe_url))
            .fetch_one(&su_probe)
            .await
            .unwrap();
            most = most.max(n);
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(20)) => {}
                _ = stopped.changed() => return (seen, most),
            }
        }
    });

    // Two tenants' writes and reads, interleaved.
    let mut requests = JoinSet::new();
    for i in 0..PER_TENANT {
        for (tag, token) in [("A", a.clone()), ("B", b.clone())] {
            let (client, create, list) = (
                app.client.clone(),
                app.url("/api/data/customers"),
                app.url("/api/data/customers?limit=100"),
            );
            requests.spawn(async move {
                let c = post(
                    &client,
                    create,
                    &token,
                    json!({"first_name": format!("{tag}-{i}")}),
                )
                .await;
                let names = list_names(&client, list, &token).await;
                (tag, c, names)
            });
        }
    }
    while let Some(done) = requests.join_next().await {
        let (tag, created, names) = done.unwrap();
        assert!(created["first_name"].as_str().unwrap().starts_with(tag));
        assert!(
            names.iter().all(|n| n.starts_with(tag)),
            "tenant {tag} saw another tenant's customers: {names:?}"
        );
    }
    for (tag, token, user) in [("A", &a, user_a), ("B", &b, user_b)] {
        let names = list_names(&app.client, app.url("/api/data/customers?limit=100"), token).await;
        assert_eq!(names.len(), PER_TENANT, "{tag}: {names:?}");
        let owners: Vec<uuid::Uuid> =
            sqlx::query_scalar("SELECT DISTINCT user_id FROM customers WHERE first_name LIKE $1")
                .bind(format!("{tag}-%"))
                .fetch_all(&su)
                .await
                .unwrap();
        assert_eq!(
            owners,
            vec![user.0],
            "every {tag} write landed in tenant {tag}"
        );
    }

    // Jobs of both tenants, enqueued through pgbouncer and drained by a poll-only worker
    // through it; each reports the tenant its transaction saw.
    let mut settings = test_settings("default", 4);
    settings.poll_only = true;
    let ctx = WorkerContext::connect_with(&bouncer.url, 4, settings).unwrap();
    let (stop_worker, worker_stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(run_worker(ctx, async move {
        let _ = worker_stopped.await;
    }));
    let mut enqueues = JoinSet::new();
    for _ in 0..PER_TENANT {
        for user in [user_a, user_b] {
            let pool = api_pool.clone();
            enqueues.spawn(async move {
                let mut tx = begin_tenant(&pool, user).await.unwrap();
                let e = enqueue_with(
                    &mut tx,
                    &RlsProbeJob { user_id: user.0 },
                    JobOptions::default(),
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
                e.id
            });
        }
    }
    let mut ids = Vec::new();
    while let Some(id) = enqueues.join_next().await {
        ids.push(id.unwrap().0);
    }
    let total = ids.len() as i64;
    wait_for(Duration::from_secs(60), "every job to complete", || async {
        let done: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE id = ANY($1) AND state = 'completed'",
        )
        .bind(&ids)
        .fetch_one(&su)
        .await
        .unwrap();
        (done == total).then_some(())
    })
    .await;
    let probes: Vec<(Option<uuid::Uuid>, uuid::Uuid, Vec<uuid::Uuid>, uuid::Uuid)> =
        sqlx::query_as(
            "SELECT p.context_user, p.claimed_user, p.visible_customers, j.user_id
           FROM test_rls_probe p JOIN jobs j ON j.id = p.job_id",
        )
        .fetch_all(&su)
        .await
        .unwrap();
    assert_eq!(probes.len() as i64, total);
    for (context, claimed, visible, owner) in probes {
        assert_eq!(context, Some(owner), "a job ran under another tenant");
        assert_eq!(claimed, owner);
        let theirs: HashSet<uuid::Uuid> =
            sqlx::query_scalar("SELECT id FROM customers WHERE user_id = $1")
                .bind(owner)
                .fetch_all(&su)
                .await
                .unwrap()
                .into_iter()
                .collect();
        assert_eq!(visible.into_iter().collect::<HashSet<_>>(), theirs);
    }
    let _ = stop_worker.send(());
    worker.await.unwrap().unwrap();

    let _ = stop_probe.send(true);
    let (seen, most) = probe.await.unwrap();
    assert!(!seen.is_empty());
    assert_clean(&seen, &login);
    assert_clean(&both_server_states(&bouncer.url).await, &login);
    assert!(
        most <= i64::from(SERVER_POOL),
        "pgbouncer opened {most} server connections for a pool of {SERVER_POOL}"
    );

    // The probe does catch what session-level state would leak (the old per-connection
    // `SET ROLE`): a client that sets role and tenant for its session leaves them behind.
    let mut careless = PgConnection::connect(&bouncer.url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "SET ROLE fieldwork_app; SELECT set_config('app.current_user_id', '{}', false)",
        user_a.0
    )))
    .execute(&mut careless)
    .await
    .unwrap();
    let states = both_server_states(&bouncer.url).await;
    assert!(
        states
            .iter()
            .any(|(_, user, _, tenant)| user == "fieldwork_app" && *tenant == user_a.0.to_string()),
        "a session-level SET ROLE leaks to the next client: {states:?}"
    );
}
