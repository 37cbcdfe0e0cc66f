//! The webhook sender: one shared HTTP client that signs each request (Standard Webhooks
//! headers), follows no redirects, gives up after `WEBHOOK_TIMEOUT_SECS`, and connects only
//! to addresses the SSRF guard checked — its resolver is the guard itself, so the name is
//! resolved once, every address is checked, and the connection goes to those addresses (no
//! DNS rebinding between check and connect). Address literals are checked before sending.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fieldwork_core::webhooks::WebhookSettings;
use fieldwork_core::webhooks::signing::signature_header;
use fieldwork_core::webhooks::ssrf::{is_forbidden, parse_target, resolve_checked};
use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect::Policy;

/// Most bytes of a response body kept in the delivery record.
pub const BODY_KEEP: usize = 1024;

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub status: Option<u16>,
    pub latency: Duration,
    pub body: Option<String>,
    pub error: Option<String>,
    /// The SSRF guard refused the target.
    pub refused: bool,
}

impl Attempt {
    /// 2xx within the timeout.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    fn refused(message: String) -> Attempt {
        Attempt {
            status: None,
            latency: Duration::ZERO,
            body: None,
            error: Some(message),
            refused: true,
        }
    }

    /// The `outcome` label: `delivered`, `failed`, `timeout` or `refused`.
    pub fn outcome(&self) -> &'static str {
        if self.refused {
            "refused"
        } else if self.succeeded() {
            "delivered"
        } else if self
            .error
            .as_deref()
            .is_some_and(|e| e.contains("timed out"))
        {
            "timeout"
        } else {
            "failed"
        }
    }
}

/// HELP texts of the sender's metrics.
pub fn describe_metrics() {
    describe_counter!(
        "fieldwork_webhook_deliveries_total",
        "Webhook delivery attempts by outcome (delivered, failed, timeout, refused)"
    );
    describe_histogram!(
        "fieldwork_webhook_delivery_seconds",
        Unit::Seconds,
        "Duration of one webhook delivery attempt (request to response headers and 1 KiB)"
    );
}

/// Resolves through the SSRF guard: every address is checked; a refused one fails the lookup.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs = resolve_checked(name.as_str(), 0, None, allow_private)
                .await
                .map_err(|m| -> Box<dyn std::error::Error + Send + Sync> { m.into() })?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The shared sender (cheap to clone).
#[derive(Clone)]
pub struct WebhookClient {
    client: reqwest::Client,
    settings: Arc<WebhookSettings>,
}

impl WebhookClient {
    pub fn new(settings: &WebhookSettings) -> Result<WebhookClient, String> {
        let client = reqwest::Client::builder()
            .redirect(Policy::none())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent("Fieldwork-Webhooks/1")
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private: settings.allow_private,
            }))
            .build()
            .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))?;
        Ok(WebhookClient {
            client,
            settings: Arc::new(settings.clone()),
        })
    }

    pub fn settings(&self) -> &WebhookSettings {
        &self.settings
    }

    /// POSTs `body` to `url`, signed with every secret in `secrets`, as message `id`.
    pub async fn send(&self, url: &str, secrets: &[&str], id: &str, body: Vec<u8>) -> Attempt {
        let attempt = self.exchange(url, secrets, id, body).await;
        counter!("fieldwork_webhook_deliveries_total", "outcome" => attempt.outcome()).increment(1);
        if !attempt.refused {
            histogram!("fieldwork_webhook_delivery_seconds").record(attempt.latency.as_secs_f64());
        }
        attempt
    }

    async fn exchange(&self, url: &str, secrets: &[&str], id: &str, body: Vec<u8>) -> Attempt {
        let target = match parse_target(url, self.settings.allow_http) {
            Ok(t) => t,
            Err(m) => return Attempt::refused(format!("url {m}")),
        };
        if let Some(ip) = target.ip
            && !self.settings.allow_private
            && is_forbidden(ip)
        {
            return Attempt::refused(format!(
                "{ip} is a private, loopback or otherwise non-public address"
            ));
        }
        let timestamp = chrono::Utc::now().timestamp();
        let signature = match signature_header(secrets, id, timestamp, &body) {
            Ok(s) => s,
            Err(e) => return Attempt::refused(format!("cannot sign: {e}")),
        };
        let started = Instant::now();
        let sent = self
            .client
            .post(target.url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => {
                let message = error_chain(&e);
                let refused = message.contains("non-public address");
                return Attempt {
                    status: None,
                    latency: started.elapsed(),
                    body: None,
                    error: Some(message),
                    refused,
                };
            }
        };
        let status = response.status().as_u16();
        let mut kept: Vec<u8> = Vec::new();
        let mut error = None;
        while kept.len() < BODY_KEEP {
            match response.chunk().await {
                Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    error = Some(error_chain(&e));
                    break;
                }
            }
        }
        kept.truncate(BODY_KEEP);
        if error.is_none() && !(200..300).contains(&status) {
            error = Some(format!("HTTP {status}"));
        }
        Attempt {
            status: Some(status),
            latency: started.elapsed(),
            body: Some(String::from_utf8_lossy(&kept).into_owned()),
            error,
            refused: false,
        }
    }
}

/// An error with its sources, e.g. "error sending request: ... : operation timed out".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    if message.len() > 500 {
        message.truncate(message.floor_char_boundary(500));
    }
    message
}
