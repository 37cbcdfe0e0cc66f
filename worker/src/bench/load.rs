//! `fieldwork-worker bench load`: a mixed HTTP workload against a running API (ops/load.sh
//! starts one): `clients` concurrent clients, each signed in as one of `tenants` tenants,
//! loop over lists, gets, creates and actions (and an occasional login) for `seconds`;
//! prints requests/s and p50/p99 per operation and fails on any error answer. The actions
//! cause jobs (confirmation and invoice emails, attribute extraction), so with workers
//! running it is also the soak workload (`--seconds 1800`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// Shape of the run.
#[derive(Debug, Clone)]
pub struct Shape {
    pub url: String,
    pub clients: usize,
    pub seconds: u64,
    pub tenants: usize,
    /// Print a progress line every this many seconds (0: never).
    pub report_every: u64,
    /// Only this operation instead of the mix.
    pub only: Option<String>,
}

const OPS: [&str; 9] = [
    "login",
    "list_customers",
    "list_tickets",
    "get_customer",
    "get_invoice",
    "create_customer",
    "create_ticket",
    "schedule_ticket",
    "create_and_send_invoice",
];

/// Per-operation latencies (µs) and error samples of one client.
#[derive(Default)]
struct Tally {
    micros: Vec<Vec<u32>>,
    errors: Vec<usize>,
    samples: Vec<String>,
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    email: String,
    customers: Vec<String>,
    invoices: Vec<String>,
    n: u64,
}

impl Client {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(30));
        if let Some(b) = body {
            req = req.json(&b);
        }
        match req.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.json().await.unwrap_or(Value::Null))
            }
            Err(e) => (0, json!({ "client_error": e.to_string() })),
        }
    }

    /// One operation; `Err` carries a description of an unexpected answer.
    async fn run(&mut self, op: usize) -> Result<(), String> {
        use reqwest::Method;
        self.n += 1;
        let n = self.n;
        let pick = |v: &Vec<String>| v[(n as usize * 7919) % v.len()].clone();
        let (expect, (status, body)) = match OPS[op] {
            "login" => {
                let body = json!({"email": self.email, "password": PASSWORD});
                let r = self
                    .http
                    .post(format!("{}/api/auth/login", self.base))
                    .json(&body)
                    .send()
                    .await;
                let answer = match r {
                    Ok(r) => (r.status().as_u16(), r.json().await.unwrap_or(Value::Null)),
                    Err(e) => (0, json!({ "client_error": e.to_string() })),
                };
                (200, answer)
            }
            "list_customers" => (
                200,
                self.send(Method::GET, "/api/data/customers?limit=20", None)
                    .await,
            ),
            "list_tickets" => (
                200,
                self.send(Method::GET, "/api/data/tickets?limit=20", None)
                    .await,
            ),
            "get_customer" => {
                let id = pick(&self.customers);
                (
                    200,
                    self.send(Method::GET, &format!("/api/data/customers/{id}"), None)
                        .await,
                )
            }
            "get_invoice" if !self.invoices.is_empty() => {
                let id = pick(&self.invoices);
                (
                    200,
                    self.send(Method::GET, &format!("/api/data/invoices/{id}"), None)
                        .await,
                )
            }
            "get_invoice" => (
                200,
                self.send(Method::GET, "/api/data/invoices?limit=1", None)
                    .await,
            ),
            "create_customer" => {
                let body = json!({"first_name": format!("Load {n}"), "last_name": "Customer",
                    "email": format!("load-{n}@example.com"), "phone": "+1 555 0100"});
                let answer = self
                    .send(Method::POST, "/api/data/customers", Some(body))
                    .await;
                if answer.0 == 201
                    && self.customers.len() < 1000
                    && let Some(id) = answer.1["data"]["id"].as_str()
                {
                    self.customers.push(id.to_owned());
                }
                (201, answer)
            }
            "create_ticket" => {
                let body = json!({"customer_id": pick(&self.customers), "title": format!("Visit {n}"),
                    "technician_notes": "Dog in the yard, gate code 4411. Bring a ladder."});
                (
                    201,
                    self.send(Method::POST, "/api/data/tickets", Some(body))
                        .await,
                )
            }
            "schedule_ticket" => {
                let body =
                    json!({"customer_id": pick(&self.customers), "title": format!("Booked {n}")});
                let (status, created) = self
                    .send(Method::POST, "/api/data/tickets", Some(body))
                    .await;
                if status != 201 {
                    return Err(format!("{status} {created}"));
                }
                let at = chrono::Utc::now() + chrono::Duration::days(3 + (n % 20) as i64);
                let action = json!({"domain": "ticket", "action": "schedule", "data": {
                    "ticket_id": created["data"]["id"], "scheduled_at": at.to_rfc3339()}});
                (
                    200,
                    self.send(Method::POST, "/api/actions", Some(action)).await,
                )
            }
            _ => {
                let body = json!({"customer_id": pick(&self.customers), "items": [
                    {"description": "Call-out", "quantity": "1", "unit_price": "49.00"},
                    {"description": "Filter", "quantity": "2", "unit_price": "19.99"}]});
                let (status, created) = self
                    .send(Method::POST, "/api/data/invoices", Some(body))
                    .await;
                if status != 201 {
                    return Err(format!("{status} {created}"));
                }
                let id = created["data"]["id"].clone();
                if let Some(s) = id.as_str()
                    && self.invoices.len() < 1000
                {
                    self.invoices.push(s.to_owned());
                }
                let action =
                    json!({"domain": "invoice", "action": "send", "data": {"invoice_id": id}});
                (
                    200,
                    self.send(Method::POST, "/api/actions", Some(action)).await,
                )
            }
        };
        if status == expect {
            Ok(())
        } else {
            Err(format!("{} {status} {body}", OPS[op]))
        }
    }
}

const PASSWORD: &str = "load test password";

/// Operation weights, per mille, in the order of [`OPS`].
const WEIGHTS: [u64; 9] = [5, 250, 100, 200, 100, 150, 70, 75, 50];

fn choose(n: u64) -> usize {
    let r = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33) % 1000;
    let mut acc = 0;
    for (i, w) in WEIGHTS.iter().enumerate() {
        acc += w;
        if r < acc {
            return i;
        }
    }
    1
}

async fn sign_up(http: &reqwest::Client, base: &str, email: &str) -> anyhow::Result<String> {
    let body = json!({"email": email, "password": PASSWORD, "business_name": "Load"});
    let r = http
        .post(format!("{base}/api/auth/register"))
        .json(&body)
        .send()
        .await?;
    if r.status().as_u16() != 201 {
        bail!("register {email}: {} {}", r.status(), r.text().await?);
    }
    let body = json!({"email": email, "password": PASSWORD});
    let r: Value = http
        .post(format!("{base}/api/auth/login"))
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    r["data"]["token"]
        .as_str()
        .map(str::to_owned)
        .context("login gave no token")
}

fn percentile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

pub async fn run(shape: Shape) -> anyhow::Result<()> {
    let only = match &shape.only {
        None => None,
        Some(name) => Some(
            OPS.iter()
                .position(|op| op == name)
                .with_context(|| format!("--only: unknown operation {name}; one of {OPS:?}"))?,
        ),
    };
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(shape.clients * 2)
        .build()?;
    let run = uuid::Uuid::now_v7().simple().to_string();
    let mut tenants = Vec::new();
    for t in 0..shape.tenants.max(1) {
        let email = format!("load-{run}-{t}@example.com");
        let token = sign_up(&http, &shape.url, &email).await?;
        let mut seed = Client {
            http: http.clone(),
            base: shape.url.clone(),
            token,
            email,
            customers: Vec::new(),
            invoices: Vec::new(),
            n: 0,
        };
        for _ in 0..20 {
            seed.run(5).await.map_err(anyhow::Error::msg)?;
        }
        tenants.push(seed);
    }
    println!(
        "{} tenants signed up; {} clients for {} s against {}",
        tenants.len(),
        shape.clients,
        shape.seconds,
        shape.url
    );
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut handles = Vec::new();
    for c in 0..shape.clients {
        let t = &tenants[c % tenants.len()];
        let mut client = Client {
            http: http.clone(),
            base: t.base.clone(),
            token: t.token.clone(),
            email: t.email.clone(),
            customers: t.customers.clone(),
            invoices: Vec::new(),
            n: c as u64 * 1_000_003,
        };
        let stop = stop.clone();
        handles.push(tokio::spawn(async move {
            let mut tally = Tally {
                micros: vec![Vec::new(); OPS.len()],
                errors: vec![0; OPS.len()],
                samples: Vec::new(),
            };
            while !stop.load(Ordering::Relaxed) {
                let op = only.unwrap_or_else(|| choose(client.n + 1));
                let t0 = Instant::now();
                let result = client.run(op).await;
                tally.micros[op].push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
                if let Err(e) = result {
                    tally.errors[op] += 1;
                    if tally.samples.len() < 3 {
                        tally.samples.push(e);
                    }
                }
            }
            tally
        }));
    }
    let deadline = started + Duration::from_secs(shape.seconds);
    while Instant::now() < deadline {
        let wait = if shape.report_every == 0 {
            deadline - Instant::now()
        } else {
            Duration::from_secs(shape.report_every).min(deadline - Instant::now())
        };
        tokio::time::sleep(wait).await;
        if shape.report_every > 0 && Instant::now() < deadline {
            println!("{:>6.0} s elapsed", started.elapsed().as_secs_f64());
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut all = Tally {
        micros: vec![Vec::new(); OPS.len()],
        errors: vec![0; OPS.len()],
        samples: Vec::new(),
    };
    for h in handles {
        let t = h.await?;
        for i in 0..OPS.len() {
            all.micros[i].extend(&t.micros[i]);
            all.errors[i] += t.errors[i];
        }
        all.samples.extend(t.samples);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total: usize = all.micros.iter().map(Vec::len).sum();
    let errors: usize = all.errors.iter().sum();
    println!("operation               | count   | req/s   | errors | p50 ms | p99 ms");
    for (i, op) in OPS.iter().enumerate() {
        let mut v = std::mem::take(&mut all.micros[i]);
        v.sort_unstable();
        println!(
            "{op:<23} | {:>7} | {:>7.1} | {:>6} | {:>6.2} | {:>6.2}",
            v.len(),
            v.len() as f64 / elapsed,
            all.errors[i],
            percentile(&v, 0.5),
            percentile(&v, 0.99)
        );
    }
    println!(
        "total: {total} operations in {elapsed:.1} s = {:.0} ops/s, {errors} errors",
        total as f64 / elapsed
    );
    for s in all.samples.iter().take(10) {
        println!("error sample: {s}");
    }
    if errors > 0 {
        bail!("{errors} operations failed");
    }
    Ok(())
}
