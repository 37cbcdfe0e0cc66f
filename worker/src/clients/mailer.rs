//! The mail transport: lettre's pooled `AsyncSmtpTransport` (rustls) to `SMTP_URL`, or, with no
//! `SMTP_URL` (the quick start), `.eml` files in the outbox. Builds the MIME message of a
//! rendered email — both parts, a `Message-ID` derived from the message id (the same on every
//! retry, so a receiver can drop a duplicate), RFC 8058 one-click unsubscribe headers — and
//! sorts failures into transient (retry) and permanent (fail; maybe a bounced address).

use std::sync::Arc;
use std::time::Duration;

use fieldwork_core::messages::RenderedEmail;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use uuid::Uuid;

use super::outbox::Outbox;
use crate::settings::MailSettings;

/// Why a send did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Try again later: connection trouble, a timeout, a 4xx reply.
    Transient(String),
    /// Trying again will not help: a 5xx reply (`bounced`: it refused the mailbox itself), or
    /// an address that cannot be written in an email.
    Permanent { reply: String, bounced: bool },
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(Outbox),
}

/// Sends emails; cheap to clone (one pool behind an `Arc`).
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    from: Mailbox,
    /// The right-hand side of every `Message-ID`.
    id_domain: String,
    timeout: Duration,
    description: String,
}

impl Mailer {
    /// Builds the transport once: an SMTP pool of up to `pool_size` idle connections, or the
    /// outbox folder (created now). A bad `SMTP_URL` or `MAIL_FROM` fails here, naming it.
    pub fn from_settings(mail: &MailSettings, pool_size: usize) -> Result<Mailer, String> {
        let from: Mailbox = mail
            .from
            .parse()
            .map_err(|e| format!("MAIL_FROM is not a valid address ({e}): {:?}", mail.from))?;
        let id_domain = from.email.domain().to_owned();
        let (transport, description) = match &mail.smtp_url {
            Some(url) => {
                let pool = PoolConfig::new()
                    .max_size(u32::try_from(pool_size.max(1)).unwrap_or(u32::MAX))
                    .idle_timeout(Duration::from_secs(60));
                let smtp = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(|e| format!("SMTP_URL is not usable ({e})"))?
                    .timeout(Some(mail.timeout))
                    .pool_config(pool)
                    .build();
                (
                    Transport::Smtp(smtp),
                    format!("SMTP {}", redact(url.expose())),
                )
            }
            None => {
                let outbox = Outbox::open(&mail.outbox_dir)?;
                let description = format!("outbox {}", outbox.dir().display());
                (Transport::Outbox(outbox), description)
            }
        };
        Ok(Mailer {
            inner: Arc::new(Inner {
                transport,
                from,
                id_domain,
                timeout: mail.timeout,
                description,
            }),
        })
    }

    /// Where mail goes, for the start-up log (passwords removed).
    pub fn description(&self) -> &str {
        &self.inner.description
    }

    /// The `Message-ID` of scheduled message `id`: stable across retries.
    pub fn message_id(&self, id: Uuid) -> String {
        format!("<{id}@{}>", self.inner.id_domain)
    }

    /// The complete email of message `id` to `to`.
    pub fn build(&self, id: Uuid, to: &str, email: &RenderedEmail) -> Result<Message, SendError> {
        let invalid = |what: &str, e: &dyn std::fmt::Display| SendError::Permanent {
            reply: format!("{what}: {e}"),
            bounced: false,
        };
        let to = Mailbox::new(
            Some(email.to_name.clone()),
            to.parse()
                .map_err(|e| invalid("invalid recipient address", &e))?,
        );
        let from = Mailbox::new(Some(email.from_name.clone()), self.inner.from.email.clone());
        Message::builder()
            .from(from)
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(self.message_id(id)))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{}>", email.unsubscribe_url),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ))
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| invalid("cannot build the email", &e))
    }

    /// Sends message `id` to `to`, bounded by `SMTP_TIMEOUT_SECS` as a whole (lettre's own
    /// timeout covers only the connect).
    pub async fn send(&self, id: Uuid, to: &str, email: &RenderedEmail) -> Result<(), SendError> {
        let message = self.build(id, to, email)?;
        let timeout = self.inner.timeout;
        match &self.inner.transport {
            Transport::Smtp(smtp) => {
                match tokio::time::timeout(timeout, smtp.send(message)).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(classify(&e)),
                    Err(_) => Err(SendError::Transient(format!(
                        "SMTP send timed out after {timeout:?}"
                    ))),
                }
            }
            Transport::Outbox(outbox) => outbox
                .write(id, message.formatted())
                .await
                .map_err(SendError::Transient),
        }
    }
}

/// Sorts an SMTP failure. A permanent reply refuses the mailbox (a bounce) when its enhanced
/// status is 5.1.x (bad address) or 5.2.x (mailbox full or disabled), or, without one, when
/// its code is 550–553; other permanent replies (554, policy 5.7.x) fail only the message.
fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let reply = e.to_string();
    if !e.is_permanent() {
        if e.is_client() {
            return SendError::Permanent {
                reply,
                bounced: false,
            };
        }
        return SendError::Transient(reply);
    }
    let code = e.status().map(|c| c.to_string()).unwrap_or_default();
    let enhanced = reply.split_whitespace().find(|w| {
        let mut parts = w.split('.');
        parts.next() == Some("5")
            && parts
                .next()
                .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty())
            && parts
                .next()
                .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty())
    });
    let bounced = match enhanced {
        Some(status) => status.starts_with("5.1.") || status.starts_with("5.2."),
        None => matches!(code.as_str(), "550" | "551" | "552" | "553"),
    };
    SendError::Permanent { reply, bounced }
}

/// `SMTP_URL` without its password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_the_log() {
        assert_eq!(
            redact("smtps://ops:s3cret@mail.example.com:465"),
            "smtps://ops:***@mail.example.com:465"
        );
        assert_eq!(redact("smtp://127.0.0.1:2525"), "smtp://127.0.0.1:2525");
    }
}
