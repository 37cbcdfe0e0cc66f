//! Helpers for the operator tests: free ports, the built binaries (`target/<profile>/`, built
//! by `ops/test.sh`), processes that are killed when dropped, tools from Debian packages
//! (prometheus, promtool, chromium, chromedriver), an in-process worker with its metrics
//! listener, and a tiny HTTP client for pages that must not follow redirects.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fieldwork_tests::TestDb;
use fieldwork_worker::settings::{Secret, parse_queues};
use fieldwork_worker::{WorkerContext, WorkerSettings, run_worker};
use tokio::sync::oneshot;

/// The repository root (for ops/ and docs/ files).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A built binary of this workspace: `$env_var`, else next to the test binary.
pub fn bin(name: &str, env_var: &str) -> PathBuf {
    if let Ok(p) = std::env::var(env_var) {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().and_then(|d| d.parent()).unwrap().join(name);
    assert!(
        path.exists(),
        "{} is missing: build it first (ops/test.sh does)",
        path.display()
    );
    path
}

/// A tool installed from a Debian package; a clear failure when missing.
pub fn tool(name: &str, package: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/local/bin", "/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("{name} is not installed: apt-get install {package} (.ci/run installs it)");
}

/// A child process killed on drop, with its output in a log file.
pub struct Process {
    _child: tokio::process::Child,
    pub log: PathBuf,
}

impl Process {
    pub fn spawn(program: &Path, args: &[&str], env: &[(&str, &str)], label: &str) -> Process {
        let log =
            std::env::temp_dir().join(format!("fw-{label}-{}.log", uuid::Uuid::now_v7().simple()));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .env_remove("METRICS_ADDR")
            .env_remove("OPS_TOKEN")
            .env("APP_SECRET", fieldwork_tests::app::TEST_APP_SECRET)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        Process { _child: child, log }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

pub use fieldwork_tests::wait_for;

/// Waits until `url` answers 200.
pub async fn wait_http(url: &str, what: &str) {
    let client = reqwest::Client::new();
    wait_for(Duration::from_secs(60), what, || async {
        match client.get(url).send().await {
            Ok(r) if r.status() == 200 => Some(()),
            _ => None,
        }
    })
    .await;
}

/// A worker running in this test process with its metrics listener (and the jobs page when
/// `token` is set), serving `queues` with the test kinds.
pub struct InProcessWorker {
    pub addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<fieldwork_core::Result<()>>,
}

impl InProcessWorker {
    pub async fn start(db: &TestDb, queues: &str, token: Option<&str>) -> InProcessWorker {
        let addr: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let settings = WorkerSettings {
            queues: parse_queues(queues, 4).unwrap(),
            poll_interval: Duration::from_millis(200),
            test_kinds: true,
            shutdown_timeout: Duration::from_secs(10),
            metrics_addr: Some(addr),
            stats_interval: Duration::from_secs(1),
            ops_token: token.map(Secret::new),
            ..WorkerSettings::default()
        };
        let ctx = WorkerContext::connect_with(&db.url, 8, settings).unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(run_worker(ctx, async move {
            let _ = rx.await;
        }));
        wait_http(&format!("http://{addr}/healthz"), "the worker's listener").await;
        InProcessWorker {
            addr,
            stop: Some(tx),
            handle,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        (&mut self.handle).await.unwrap().unwrap();
    }
}

/// A reqwest client that shows redirects instead of following them.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
