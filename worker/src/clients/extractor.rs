//! The attribute extractor the `extract_ticket_attributes` job calls: one trait, two
//! providers chosen by `LLM_PROVIDER` — `rules` (offline, deterministic, the default) and
//! `openai` (any OpenAI-compatible chat-completions server, `super::openai`). Both return a
//! finalised proposal (schema-valid, evidence grounded in the notes) or an [`ExtractError`]
//! that says whether trying again can help. Both record the LLM metrics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use fieldwork_core::extraction::{
    self, ExtractionInput, ExtractorInfo, RULES_MODEL, RULES_PROVIDER, finalize,
};
use futures_util::future::BoxFuture;
use serde_json::{Map, Value};

use super::llm::{LlmProvider, LlmSettings};
use super::openai::OpenAiExtractor;

/// Why an extraction produced no proposal. Reasons name no note content.
#[derive(Debug, Clone, PartialEq)]
pub enum ExtractError {
    /// The provider cannot answer now (429, 5xx, timeout, unreachable): try again later,
    /// after `retry_after` when the provider said so.
    Unavailable {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The provider refused the request itself (an HTTP 4xx such as a bad key or an unknown
    /// model): the same request will not succeed.
    Rejected { reason: String },
    /// The answer cannot become a proposal: cut off at the token limit, not JSON, a refusal,
    /// or not valid against the schema. A bounded number of tries may help.
    Unusable { reason: String },
}

impl ExtractError {
    pub fn reason(&self) -> &str {
        match self {
            ExtractError::Unavailable { reason, .. }
            | ExtractError::Rejected { reason }
            | ExtractError::Unusable { reason } => reason,
        }
    }
}

/// A finalised proposal: `{category: {value, evidence}}`.
pub type Proposal = Map<String, Value>;

/// Something that turns notes into a proposal.
pub trait AttributeExtractor: Send + Sync {
    /// Who answers (recorded on the ticket's `extraction`).
    fn info(&self) -> ExtractorInfo;
    /// Extracts the attributes of `input.notes`.
    fn extract<'a>(
        &'a self,
        input: &'a ExtractionInput,
    ) -> BoxFuture<'a, Result<Proposal, ExtractError>>;
}

/// Builds the configured extractor.
pub fn from_settings(
    settings: &LlmSettings,
) -> fieldwork_core::Result<Arc<dyn AttributeExtractor>> {
    // Fail at start-up, not in the first job, if the schema cannot be loaded.
    extraction::schema()?;
    Ok(match settings.provider {
        // The patterns compile on first use, not here: start-up stays fast for workers that
        // never extract (and for the fleet tests, which time it).
        LlmProvider::Rules => Arc::new(RulesExtractor),
        LlmProvider::OpenAi => Arc::new(OpenAiExtractor::new(settings)?),
    })
}

/// The offline extractor (`fieldwork_core::extraction::rules`).
#[derive(Debug, Clone, Copy, Default)]
pub struct RulesExtractor;

impl RulesExtractor {
    /// The proposal for `notes` written on `visit_date`.
    pub fn propose(notes: &str, visit_date: NaiveDate) -> Result<Proposal, ExtractError> {
        let raw = extraction::rules::extract(notes, visit_date);
        let schema = extraction::schema().map_err(|e| ExtractError::Rejected {
            reason: e.to_string(),
        })?;
        finalize(schema, Value::Object(raw), notes, visit_date)
            .map_err(|reason| ExtractError::Unusable { reason })
    }
}

impl AttributeExtractor for RulesExtractor {
    fn info(&self) -> ExtractorInfo {
        ExtractorInfo {
            provider: RULES_PROVIDER.to_owned(),
            model: RULES_MODEL.to_owned(),
            prompt_version: None,
        }
    }

    fn extract<'a>(
        &'a self,
        input: &'a ExtractionInput,
    ) -> BoxFuture<'a, Result<Proposal, ExtractError>> {
        Box::pin(async move {
            let started = Instant::now();
            let result = Self::propose(&input.notes, input.visit_date);
            record_request(
                RULES_PROVIDER,
                RULES_MODEL,
                outcome_of(&result),
                started.elapsed(),
            );
            result
        })
    }
}

/// The `outcome` label of a result.
pub fn outcome_of(result: &Result<Proposal, ExtractError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(ExtractError::Unavailable { .. }) => "unavailable",
        Err(ExtractError::Rejected { .. }) => "rejected",
        Err(ExtractError::Unusable { .. }) => "unusable",
    }
}

/// One request to a provider: counted by outcome, timed.
pub fn record_request(provider: &str, model: &str, outcome: &'static str, took: Duration) {
    metrics::counter!(
        "fieldwork_llm_requests_total",
        "provider" => provider.to_owned(),
        "model" => model.to_owned(),
        "outcome" => outcome
    )
    .increment(1);
    metrics::histogram!("fieldwork_llm_request_seconds", "provider" => provider.to_owned())
        .record(took.as_secs_f64());
}

/// Tokens a provider reported using.
pub fn record_tokens(prompt: u64, completion: u64) {
    metrics::counter!("fieldwork_llm_tokens_total", "kind" => "prompt").increment(prompt);
    metrics::counter!("fieldwork_llm_tokens_total", "kind" => "completion").increment(completion);
}

/// HELP texts of the LLM metrics.
pub fn describe_metrics() {
    metrics::describe_counter!(
        "fieldwork_llm_requests_total",
        "Attribute extraction requests by provider, model and outcome (ok, rate_limited, \
         unavailable, timeout, rejected, truncated, refusal, invalid_json, schema_invalid, unusable)"
    );
    metrics::describe_counter!(
        "fieldwork_llm_tokens_total",
        metrics::Unit::Count,
        "Tokens the LLM provider reported, by kind (prompt, completion)"
    );
    metrics::describe_histogram!(
        "fieldwork_llm_request_seconds",
        metrics::Unit::Seconds,
        "Time of one extraction request, by provider"
    );
}
