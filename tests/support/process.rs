//! `ApiProcess`: the real `fieldwork-api` binary (next to the test binary, built by
//! `ops/test.sh`) serving a test database on a port of its choosing, with its JSON log in a
//! file — for what only a separate process shows: its memory (`/proc/<pid>/status`) and its log.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::db::TestDb;

/// A binary of this workspace: `FIELDWORK_<NAME>_BIN`, else next to the test binary.
pub fn workspace_bin(name: &str) -> PathBuf {
    let var = format!("{}_BIN", name.to_uppercase().replace('-', "_"));
    if let Ok(p) = std::env::var(var) {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().and_then(|d| d.parent()).unwrap().join(name);
    assert!(
        bin.exists(),
        "{} is missing: build it first (`cargo build --bin {name}`; ops/test.sh does)",
        bin.display()
    );
    bin
}

/// A running `fieldwork-api` process.
pub struct ApiProcess {
    pub child: tokio::process::Child,
    pub pid: u32,
    pub addr: std::net::SocketAddr,
    pub log: PathBuf,
}

impl ApiProcess {
    /// Starts the API on `db` (as the runtime login) with `env` added; waits until it listens.
    pub async fn spawn(db: &TestDb, env: &[(&str, &str)]) -> ApiProcess {
        Self::spawn_on(&db.url, &db.name, env).await
    }

    /// Starts the API on the database at `url` (the runtime login); `label` names its log.
    pub async fn spawn_on(url: &str, label: &str, env: &[(&str, &str)]) -> ApiProcess {
        let log = std::env::temp_dir().join(format!(
            "fw-api-{label}-{}.log",
            uuid::Uuid::now_v7().simple()
        ));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = tokio::process::Command::new(workspace_bin("fieldwork-api"));
        cmd.env("DATABASE_URL", url)
            .env("APP_SECRET", crate::app::TEST_APP_SECRET)
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info,sqlx=warn")
            .env("DB_MAX_CONNECTIONS", "8")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let pid = child.id().unwrap();
        let started = Instant::now();
        let addr = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let found = text
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|v| v["message"] == "fieldwork-api listening")
                .and_then(|v| v["addr"].as_str().and_then(|a| a.parse().ok()));
            if let Some(addr) = found {
                break addr;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "fieldwork-api did not start; log:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        ApiProcess {
            child,
            pid,
            addr,
            log,
        }
    }

    /// `kill -9`: the process gets no chance to finish anything.
    pub async fn kill9(&mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The process's log, one JSON object per line.
    pub fn log_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Resident set size now, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap()
    }
}
