//! The outside services job handlers talk to (SMTP, LLM, HTTP receivers), each a typed client
//! in its own file, built once at start-up from the worker's settings and handed to the
//! handlers that need them (see `crate::jobs::registry`). Nothing here talks to our database.

mod chat_response;
pub mod extractor;
pub mod llm;
pub mod mailer;
pub mod openai;
pub mod outbox;
pub mod prompt;
pub mod webhook;

use std::sync::Arc;

use fieldwork_core::messages::SendMessage;
use fieldwork_core::queue::Job;

use crate::settings::WorkerSettings;

pub use mailer::{Mailer, SendError};

/// Every client a handler may need, built once per worker process. Cheap to clone (each
/// client shares its connection pool behind an `Arc`).
#[derive(Clone)]
pub struct Clients {
    /// The attribute extractor (`LLM_PROVIDER`): rules or an OpenAI-compatible server.
    pub extractor: Arc<dyn extractor::AttributeExtractor>,
    /// SMTP (`SMTP_URL`) or the `.eml` outbox.
    pub mailer: Mailer,
    /// Webhook deliveries (signed, SSRF-guarded, `WEBHOOK_*`).
    pub webhooks: webhook::WebhookClient,
}

impl Clients {
    /// Builds every client from the settings. A bad setting stops start-up with one line
    /// naming it, instead of failing the first job that needs the client.
    pub fn from_settings(settings: &WorkerSettings) -> fieldwork_core::Result<Clients> {
        // One pooled SMTP connection per concurrent send of this process.
        let senders = settings.concurrency_of(SendMessage::QUEUE);
        let mailer = Mailer::from_settings(&settings.mail, senders)
            .map_err(fieldwork_core::Error::Internal)?;
        Ok(Clients {
            extractor: extractor::from_settings(&settings.llm)?,
            mailer,
            webhooks: webhook::WebhookClient::new(&settings.webhooks)
                .map_err(fieldwork_core::Error::Internal)?,
        })
    }
}
