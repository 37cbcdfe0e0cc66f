//! The outside services job handlers talk to (SMTP, LLM, HTTP receivers), each a typed client
//! in its own file, built once at start-up from the worker's settings and handed to the
//! handlers that need them (see `crate::jobs::registry`). Nothing here talks to our database.

mod chat_response;
pub mod extractor;
pub mod llm;
pub mod openai;
pub mod prompt;

use std::sync::Arc;

use crate::settings::WorkerSettings;

/// Every client a handler may need, built once per worker process. Cheap to clone (each
/// client shares its connection pool behind an `Arc`).
#[derive(Clone)]
pub struct Clients {
    /// The attribute extractor (`LLM_PROVIDER`): rules or an OpenAI-compatible server.
    pub extractor: Arc<dyn extractor::AttributeExtractor>,
}

impl Default for Clients {
    fn default() -> Self {
        Clients {
            extractor: Arc::new(extractor::RulesExtractor),
        }
    }
}

impl Clients {
    /// Builds every client from the settings. A bad setting stops start-up with one line
    /// naming it, instead of failing the first job that needs the client.
    pub fn from_settings(settings: &WorkerSettings) -> fieldwork_core::Result<Clients> {
        Ok(Clients {
            extractor: extractor::from_settings(&settings.llm)?,
        })
    }
}
