//! A fresh database per test, cloned from a template that is migrated once per migration set,
//! with the production split of logins (ops/test.sh creates them):
//! - `FIELDWORK_TEST_ADMIN_URL`: an administrator (a superuser on CI and in the throwaway
//!   cluster) that creates and drops the databases and inspects rows past RLS;
//! - `MIGRATE_DATABASE_URL`: the schema owner (NOSUPERUSER, CREATEROLE) the migrations run as;
//! - `DATABASE_URL`: the runtime login (NOSUPERUSER NOINHERIT, member of `fieldwork_app` and
//!   `fieldwork_system` only) every app pool, worker and test pool uses.
//!
//! The template `fw_tpl_<hash of migrations>` is built under an advisory lock, so parallel
//! test processes build it once; each test then gets `CREATE DATABASE fw_test_<uuid> TEMPLATE
//! ...` owned by the owner login, dropped again when the `TestDb` drops.

use std::time::Duration;

use fieldwork_core::db::{DbRole, MIGRATOR, PoolConfig};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};
use tokio::sync::OnceCell;

fn env_url(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run the tests with ops/test.sh, which creates the logins \
             (DATABASE_URL, MIGRATE_DATABASE_URL, FIELDWORK_TEST_ADMIN_URL)"
        )
    })
}

/// The administrator's URL (creates databases; a superuser).
pub fn server_url() -> String {
    env_url("FIELDWORK_TEST_ADMIN_URL")
}

/// The runtime login's URL (any database).
pub fn runtime_url() -> String {
    env_url("DATABASE_URL")
}

/// The schema owner's URL (any database).
pub fn owner_url() -> String {
    env_url("MIGRATE_DATABASE_URL")
}

/// The user name a URL logs in as.
pub fn user_of(url: &str) -> String {
    url.parse::<PgConnectOptions>()
        .unwrap()
        .get_username()
        .to_owned()
}

/// The administrator's URL with its database name replaced.
pub fn url_for(database: &str) -> String {
    with_database(&server_url(), database)
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, database: &str) -> String {
    let mut url = url_parts(url);
    url.database = database.to_owned();
    url.render()
}

struct UrlParts {
    prefix: String,
    database: String,
    query: String,
}

impl UrlParts {
    fn render(&self) -> String {
        format!("{}/{}{}", self.prefix, self.database, self.query)
    }
}

/// Splits `postgres://user@host:port/db?x=y` around the database name.
fn url_parts(url: &str) -> UrlParts {
    let (base, query) = match url.find('?') {
        Some(i) => (&url[..i], url[i..].to_owned()),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    match base[scheme_end..].find('/') {
        Some(i) => UrlParts {
            prefix: base[..scheme_end + i].to_owned(),
            database: base[scheme_end + i + 1..].to_owned(),
            query,
        },
        None => UrlParts {
            prefix: base.to_owned(),
            database: String::new(),
            query,
        },
    }
}

async fn admin_connection() -> PgConnection {
    let mut last = None;
    for _ in 0..20 {
        match PgConnection::connect(&server_url()).await {
            Ok(c) => return c,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("cannot connect to DATABASE_URL: {last:?}");
}

fn template_name() -> String {
    // FNV-1a over the migrations' checksums: a new or changed migration gets a new template.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for m in MIGRATOR.iter() {
        for b in m.version.to_le_bytes().iter().chain(m.checksum.iter()) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("fw_tpl_{h:016x}")
}

static TEMPLATE: OnceCell<String> = OnceCell::const_new();

async fn template() -> &'static str {
    TEMPLATE
        .get_or_init(|| async {
            let name = template_name();
            let mut admin = admin_connection().await;
            sqlx::query("SELECT pg_advisory_lock(774411)")
                .execute(&mut admin)
                .await
                .unwrap();
            let ready: Option<Option<String>> = sqlx::query_scalar(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            )
            .bind(&name)
            .fetch_optional(&mut admin)
            .await
            .unwrap();
            if ready != Some(Some("ready".to_owned())) {
                let q = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                sqlx::raw_sql(AssertSqlSafe(q))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                let q = format!("CREATE DATABASE {name} OWNER \"{}\"", user_of(&owner_url()));
                sqlx::raw_sql(AssertSqlSafe(q))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                // As production does it: migrations as the owner, which also makes the
                // runtime login a member of the two runtime roles.
                let owner = with_database(&owner_url(), &name);
                fieldwork_core::db::migrate(&owner)
                    .await
                    .expect("migrations apply as the owner login");
                fieldwork_core::db::grant_runtime_login(&owner, &runtime_url())
                    .await
                    .expect("the owner grants the runtime roles");
                let q = format!("COMMENT ON DATABASE {name} IS 'ready'");
                sqlx::raw_sql(AssertSqlSafe(q))
                    .execute(&mut admin)
                    .await
                    .unwrap();
            }
            sqlx::query("SELECT pg_advisory_unlock(774411)")
                .execute(&mut admin)
                .await
                .unwrap();
            admin.close().await.ok();
            name
        })
        .await
}

/// A migrated database of its own, dropped when this value drops.
pub struct TestDb {
    pub name: String,
    /// The runtime login's URL of this database (what the API and workers use).
    pub url: String,
    /// The owner login's URL of this database.
    pub owner_url: String,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let template = template().await;
        let name = format!("fw_test_{}", uuid::Uuid::now_v7().simple());
        let mut admin = admin_connection().await;
        let q = format!(
            "CREATE DATABASE {name} TEMPLATE {template} OWNER \"{}\"",
            user_of(&owner_url())
        );
        // Cloning fails while another session is still attached to the template (a
        // concurrent clone's bookkeeping); retry briefly.
        let mut attempt = 0;
        loop {
            match sqlx::raw_sql(AssertSqlSafe(q.clone()))
                .execute(&mut admin)
                .await
            {
                Ok(_) => break,
                Err(_) if attempt < 50 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot create test database: {e}"),
            }
        }
        admin.close().await.ok();
        TestDb {
            url: with_database(&runtime_url(), &name),
            owner_url: with_database(&owner_url(), &name),
            name,
        }
    }

    /// A pool as the API uses it (the runtime login; its transactions run as `fieldwork_app`).
    pub fn app_pool(&self) -> PgPool {
        let mut cfg = PoolConfig::new(&self.url, "fieldwork-test");
        cfg.max_connections = 8;
        fieldwork_core::db::pool(&cfg, DbRole::App).unwrap()
    }

    /// A pool as the worker's system path uses it (the runtime login; `begin_system`).
    pub fn system_pool(&self) -> PgPool {
        let mut cfg = PoolConfig::new(&self.url, "fieldwork-test-system");
        cfg.max_connections = 8;
        fieldwork_core::db::pool(&cfg, DbRole::System).unwrap()
    }

    /// A pool as the administrator (a superuser: RLS does not apply), for setting up and
    /// inspecting what really is stored.
    pub async fn superuser_pool(&self) -> PgPool {
        PgPoolOptions::new()
            .max_connections(4)
            .connect(&url_for(&self.name))
            .await
            .unwrap()
    }

    /// A single connection as the runtime login, outside any helper: what a compromised or
    /// careless piece of code holding `DATABASE_URL` could do.
    pub async fn runtime_connection(&self) -> PgConnection {
        PgConnection::connect(&self.url).await.unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside async context: use a small runtime on its own thread.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut admin) = PgConnection::connect(&server_url()).await {
                    let q = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::raw_sql(AssertSqlSafe(q)).execute(&mut admin).await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}
