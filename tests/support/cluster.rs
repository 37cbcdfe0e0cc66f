//! `OwnCluster`: a throwaway PostgreSQL cluster owned by one test, for what a shared server
//! must never be put through: being stopped and started again. Built like ops/lib/common.sh
//! does it — `initdb`/`pg_ctl` from `pg_config --bindir` (else the newest
//! `/usr/lib/postgresql/*/bin`), run as the unprivileged `postgres` user when the test runs as
//! root (initdb refuses root) — with the production logins, a migrated database `fieldwork`,
//! and the engine's test-kind tables.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection, PgConnection};

const OWNER_PASSWORD: &str = "owner-password-for-the-test-cluster";
const RUNTIME_PASSWORD: &str = "runtime-password-for-the-test-cluster";

/// A running (or stopped) cluster of the test's own; removed on drop.
pub struct OwnCluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    run_as: Option<String>,
    /// Administrator (superuser) URL of database `fieldwork`.
    pub admin_url: String,
    /// The schema owner's URL (migrations).
    pub owner_url: String,
    /// The runtime login's URL: what the API and workers use.
    pub url: String,
}

fn bindir() -> PathBuf {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .filter(|d| d.join("initdb").exists());
    if let Some(d) = from_pg_config {
        return d;
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                .filter(|d| d.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort_by_key(|d| {
        d.parent()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop().expect(
        "no PostgreSQL server binaries (initdb) found: install PostgreSQL (apt-get install postgresql)",
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

impl OwnCluster {
    /// initdb, start, logins, database `fieldwork` migrated as the owner, test-kind tables.
    pub async fn start() -> OwnCluster {
        let bin = bindir();
        let dir = std::env::temp_dir().join(format!("fw-own-pg-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let run_as = is_root().then(|| {
            let user = if Command::new("id")
                .arg("-u")
                .arg("postgres")
                .output()
                .is_ok_and(|o| o.status.success())
            {
                "postgres"
            } else {
                "nobody"
            };
            let status = Command::new("chown").arg(user).arg(&dir).status().unwrap();
            assert!(status.success(), "chown of {} failed", dir.display());
            user.to_owned()
        });
        let port = free_port();
        let base = format!("postgres://postgres@127.0.0.1:{port}");
        let mut cluster = OwnCluster {
            admin_url: format!("{base}/fieldwork"),
            owner_url: format!(
                "postgres://fieldwork_owner:{OWNER_PASSWORD}@127.0.0.1:{port}/fieldwork"
            ),
            url: format!(
                "postgres://fieldwork_runtime:{RUNTIME_PASSWORD}@127.0.0.1:{port}/fieldwork"
            ),
            bin,
            dir,
            port,
            run_as,
        };
        let data = cluster.data_dir();
        cluster.pg(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        cluster.start_server();
        let mut admin = PgConnection::connect(&format!("{base}/postgres"))
            .await
            .unwrap();
        for sql in [
            format!(
                "CREATE ROLE fieldwork_owner LOGIN NOSUPERUSER CREATEROLE NOCREATEDB NOBYPASSRLS INHERIT PASSWORD '{OWNER_PASSWORD}'"
            ),
            format!(
                "CREATE ROLE fieldwork_runtime LOGIN NOSUPERUSER NOINHERIT NOCREATEROLE NOCREATEDB NOBYPASSRLS PASSWORD '{RUNTIME_PASSWORD}'"
            ),
            "CREATE DATABASE fieldwork OWNER fieldwork_owner".to_owned(),
        ] {
            sqlx::raw_sql(AssertSqlSafe(sql))
                .execute(&mut admin)
                .await
                .unwrap();
        }
        admin.close().await.ok();
        fieldwork_core::db::migrate(&cluster.owner_url)
            .await
            .unwrap();
        fieldwork_core::db::grant_runtime_login(&cluster.owner_url, &cluster.url)
            .await
            .unwrap();
        let mut admin = PgConnection::connect(&cluster.admin_url).await.unwrap();
        sqlx::raw_sql(fieldwork_worker::test_kinds::TEST_TABLES_SQL)
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.ok();
        cluster
    }

    fn data_dir(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn pg(&mut self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let out = cmd
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server on its port (again); returns once it accepts connections.
    pub fn start_server(&mut self) {
        let data = self.data_dir();
        let log = self.dir.join("server.log").display().to_string();
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            self.port
        );
        self.pg(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-w", "-t", "60", "-o", &options, "start",
            ],
        );
    }

    /// Stops the server (`pg_ctl stop -m fast`: open sessions are terminated).
    pub fn stop_server(&mut self) {
        let data = self.data_dir();
        self.pg(
            "pg_ctl",
            &["-D", &data, "-m", "fast", "-w", "-t", "60", "stop"],
        );
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A pool as the administrator (no RLS), for inspecting what is stored.
    pub async fn superuser_pool(&self) -> sqlx::PgPool {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(30))
            .connect(&self.admin_url)
            .await
            .unwrap()
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        if self.dir.join("data/postmaster.pid").exists() {
            let data = self.data_dir();
            let exe = self.bin.join("pg_ctl");
            let mut cmd = match &self.run_as {
                Some(user) => {
                    let mut c = Command::new("runuser");
                    c.args(["-u", user, "--"]).arg(&exe);
                    c
                }
                None => Command::new(&exe),
            };
            let _ = cmd
                .args(["-D", &data, "-m", "immediate", "-w", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
