//! The `openai` extractor: one chat-completions request to any OpenAI-compatible server
//! (`OPENAI_BASE_URL`: OpenAI, vLLM, Ollama, llama.cpp) with the prompt from
//! `templates/prompts/`, `response_format` json_schema strict (the schema's strict form),
//! temperature 0 and a token cap; the answer is always validated against the schema on our
//! side (some servers accept a schema without enforcing it).
//!
//! The request is built from async-openai's types (`chat-completion-types` only) and sent with
//! the workspace's reqwest 0.12 rather than through async-openai's client: that client retries
//! 429 and 5xx itself with its own backoff and hands back neither the status nor the headers,
//! so the job engine could not own retries or honour `Retry-After` (seconds or HTTP date),
//! and its newest releases pull in a second reqwest. The response is decoded into our own
//! lenient types: a non-standard `finish_reason` ("eos", "stop_sequence", ...) does not fail
//! the call the way async-openai's closed `FinishReason` enum would.

use std::time::{Duration, Instant};

use async_openai::types::chat::{
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestUserMessage, CreateChatCompletionRequest, ResponseFormat,
    ResponseFormatJsonSchema,
};
use chrono::Utc;
use fieldwork_core::config::Secret;
use fieldwork_core::extraction::{self, ExtractionInput, ExtractorInfo};
use futures_util::future::BoxFuture;
use reqwest::StatusCode;
use serde_json::Value;

use super::chat_response::{ChatResponse, ErrorBody, read_answer, retry_after};
use super::extractor::{AttributeExtractor, ExtractError, Proposal, record_request, record_tokens};
use super::llm::LlmSettings;
use super::prompt::Prompt;

/// The OpenAI-compatible extractor.
pub struct OpenAiExtractor {
    http: reqwest::Client,
    url: String,
    api_key: Option<Secret>,
    model: String,
    max_tokens: u32,
    timeout: Duration,
    prompt: Prompt,
    response_schema: Value,
}

impl OpenAiExtractor {
    pub fn new(settings: &LlmSettings) -> fieldwork_core::Result<OpenAiExtractor> {
        let internal = fieldwork_core::Error::Internal;
        settings.validate().map_err(internal)?;
        let schema = extraction::schema()?;
        let http = reqwest::Client::builder()
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| internal(format!("cannot build the LLM HTTP client: {e}")))?;
        Ok(OpenAiExtractor {
            http,
            url: format!(
                "{}/chat/completions",
                settings.base_url.trim().trim_end_matches('/')
            ),
            api_key: settings
                .api_key
                .clone()
                .filter(|k| !k.expose().trim().is_empty()),
            model: settings.model.trim().to_owned(),
            max_tokens: settings.max_tokens,
            timeout: settings.timeout,
            prompt: Prompt::new(schema).map_err(internal)?,
            response_schema: schema.strict_response_schema(),
        })
    }

    /// The request body for `input`.
    pub fn request(&self, input: &ExtractionInput) -> Result<CreateChatCompletionRequest, String> {
        let messages = self.prompt.render(input)?;
        #[allow(deprecated)] // `max_tokens`: what every compatible server understands.
        let request = CreateChatCompletionRequest {
            model: self.model.clone(),
            messages: vec![
                ChatCompletionRequestMessage::from(ChatCompletionRequestSystemMessage {
                    content: messages.system.into(),
                    name: None,
                }),
                ChatCompletionRequestMessage::from(ChatCompletionRequestUserMessage {
                    content: messages.user.into(),
                    name: None,
                }),
            ],
            temperature: Some(0.0),
            max_tokens: Some(self.max_tokens),
            n: Some(1),
            response_format: Some(ResponseFormat::JsonSchema {
                json_schema: ResponseFormatJsonSchema {
                    name: "ticket_attributes".to_owned(),
                    description: Some("Attributes extracted from technician notes".to_owned()),
                    schema: Some(self.response_schema.clone()),
                    strict: Some(true),
                },
            }),
            ..Default::default()
        };
        Ok(request)
    }

    async fn call(
        &self,
        input: &ExtractionInput,
    ) -> (Result<Proposal, ExtractError>, &'static str) {
        let body = match self.request(input) {
            Ok(b) => b,
            Err(reason) => return (Err(ExtractError::Rejected { reason }), "rejected"),
        };
        let mut req = self.http.post(&self.url).timeout(self.timeout).json(&body);
        if let Some(key) = &self.api_key {
            req = req.bearer_auth(key.expose());
        }
        let response = match req.send().await {
            Ok(r) => r,
            Err(e) => return self.transport_error(&e),
        };
        let status = response.status();
        let retry_after = retry_after(response.headers(), Utc::now());
        if !status.is_success() {
            let detail = response
                .json::<ErrorBody>()
                .await
                .ok()
                .and_then(|b| b.error)
                .map(|e| e.label());
            return http_error(status, retry_after, detail);
        }
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return self.transport_error(&e),
        };
        let Ok(answer) = serde_json::from_slice::<ChatResponse>(&bytes) else {
            let reason = "the provider's response is not a chat completion".to_owned();
            return (
                Err(ExtractError::Unavailable {
                    reason,
                    retry_after,
                }),
                "unavailable",
            );
        };
        if let Some(u) = &answer.usage {
            record_tokens(u.prompt_tokens, u.completion_tokens);
        }
        read_answer(answer, input)
    }

    fn transport_error(
        &self,
        e: &reqwest::Error,
    ) -> (Result<Proposal, ExtractError>, &'static str) {
        let (reason, outcome) = if e.is_timeout() {
            (
                format!(
                    "the provider did not answer within {} s (LLM_TIMEOUT_SECS)",
                    self.timeout.as_secs()
                ),
                "timeout",
            )
        } else if e.is_connect() {
            (
                "cannot connect to the provider (OPENAI_BASE_URL)".to_owned(),
                "unavailable",
            )
        } else {
            (
                "the connection to the provider failed".to_owned(),
                "unavailable",
            )
        };
        let err = ExtractError::Unavailable {
            reason,
            retry_after: None,
        };
        (Err(err), outcome)
    }
}

impl AttributeExtractor for OpenAiExtractor {
    fn info(&self) -> ExtractorInfo {
        ExtractorInfo {
            provider: "openai".to_owned(),
            model: self.model.clone(),
            prompt_version: Some(self.prompt.version().to_owned()),
        }
    }

    fn extract<'a>(
        &'a self,
        input: &'a ExtractionInput,
    ) -> BoxFuture<'a, Result<Proposal, ExtractError>> {
        Box::pin(async move {
            let started = Instant::now();
            let (result, outcome) = self.call(input).await;
            record_request("openai", &self.model, outcome, started.elapsed());
            result
        })
    }
}

fn http_error(
    status: StatusCode,
    retry_after: Option<Duration>,
    detail: Option<String>,
) -> (Result<Proposal, ExtractError>, &'static str) {
    let detail = detail.map(|d| format!(" ({d})")).unwrap_or_default();
    let code = status.as_u16();
    if code == 429 {
        let reason = format!("rate limited by the provider (HTTP 429){detail}");
        return (
            Err(ExtractError::Unavailable {
                reason,
                retry_after,
            }),
            "rate_limited",
        );
    }
    if status.is_server_error() || matches!(code, 408 | 409 | 425) {
        let reason = format!("the provider failed (HTTP {code}){detail}");
        return (
            Err(ExtractError::Unavailable {
                reason,
                retry_after,
            }),
            "unavailable",
        );
    }
    let reason = format!("the provider rejected the request (HTTP {code}){detail}");
    (Err(ExtractError::Rejected { reason }), "rejected")
}
