//! `PgBouncer`: Debian's `pgbouncer` started in transaction pooling mode in front of one test
//! database, with a small server pool, on a free port; stopped when dropped. It refuses to run
//! as root, so under root it runs as the `postgres` user (as ops/lib/common.sh runs the
//! throwaway server). Configured as docs/SECURITY.md tells operators to: the clients turn
//! sqlx's statement cache off (`statement-cache-capacity=0`), and since sqlx 0.9 still names
//! its prepared statements, pgbouncer (1.18, without prepared-statement support) runs
//! `DEALLOCATE ALL` after every transaction. That reset drops prepared statements only — no
//! role, no setting — so nothing else may depend on a server connection being cleaned.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;

use crate::db::TestDb;

/// A running pgbouncer.
pub struct PgBouncer {
    child: Child,
    dir: PathBuf,
    pub port: u16,
    /// The runtime login's URL through pgbouncer (statement cache off: pgbouncer 1.18 does not
    /// carry prepared statements across server connections).
    pub url: String,
}

fn pgbouncer_bin() -> PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        let p = Path::new(dir).join("pgbouncer");
        if p.exists() {
            return p;
        }
    }
    let p = PathBuf::from("/usr/sbin/pgbouncer");
    assert!(
        p.exists(),
        "pgbouncer is not installed (apt-get install pgbouncer; .ci/run installs it)"
    );
    p
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PgBouncer {
    /// Starts pgbouncer for `db` with `pool_size` server connections at most.
    pub async fn start(db: &TestDb, pool_size: u32) -> PgBouncer {
        let server: PgConnectOptions = db.url.parse().unwrap();
        let user = server.get_username().to_owned();
        let password = url_password(&db.url);
        let dir = std::env::temp_dir().join(format!("fw-pgbouncer-{}", db.name));
        std::fs::create_dir_all(&dir).unwrap();
        let root = running_as_root();
        let mut last_log = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let ini = format!(
                "[databases]\n{db} = host={host} port={pg_port} dbname={db}\n\n\
                 [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
                 auth_type = trust\nauth_file = {dir}/users.txt\npool_mode = transaction\n\
                 default_pool_size = {pool_size}\nmin_pool_size = 0\nreserve_pool_size = 0\n\
                 max_client_conn = 500\nserver_reset_query = DEALLOCATE ALL\n\
                 server_reset_query_always = 1\n\
                 ignore_startup_parameters = extra_float_digits\n\
                 logfile = {dir}/pgbouncer.log\npidfile = {dir}/pgbouncer.pid\n",
                db = db.name,
                host = server.get_host(),
                pg_port = server.get_port(),
                dir = dir.display(),
            );
            std::fs::write(dir.join("pgbouncer.ini"), ini).unwrap();
            std::fs::write(
                dir.join("users.txt"),
                format!("\"{user}\" \"{password}\"\n"),
            )
            .unwrap();
            let _ = std::fs::remove_file(dir.join("pgbouncer.log"));
            let mut cmd = if root {
                let _ = Command::new("chown")
                    .args(["-R", "postgres"])
                    .arg(&dir)
                    .status();
                // setpriv execs pgbouncer itself, so the child's pid is pgbouncer's.
                let mut c = Command::new("setpriv");
                c.args([
                    "--reuid=postgres",
                    "--regid=postgres",
                    "--clear-groups",
                    "--",
                ])
                .arg(pgbouncer_bin());
                c
            } else {
                Command::new(pgbouncer_bin())
            };
            let child = cmd
                .arg(dir.join("pgbouncer.ini"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut bouncer = PgBouncer {
                child,
                dir: dir.clone(),
                port,
                url: format!(
                    "postgres://{user}:{password}@127.0.0.1:{port}/{}?statement-cache-capacity=0",
                    db.name
                ),
            };
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                last_log = std::fs::read_to_string(dir.join("pgbouncer.log")).unwrap_or_default();
                if (last_log.contains("process up") || last_log.contains("listening on"))
                    && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                {
                    return bouncer;
                }
                if bouncer.child.try_wait().ok().flatten().is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            bouncer.stop();
        }
        panic!("pgbouncer did not start; its log:\n{last_log}");
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// The password of a `postgres://user:password@...` URL ('' when there is none).
fn url_password(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let userinfo = rest.split_once('@').map_or("", |(u, _)| u);
    userinfo
        .split_once(':')
        .map_or(String::new(), |(_, p)| p.to_owned())
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
