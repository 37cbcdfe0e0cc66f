//! Reading an OpenAI-compatible chat completion, leniently and on our terms: our own response
//! types (any `finish_reason` string is accepted; async-openai's closed enum would fail the
//! call on "eos" or "stop_sequence"), refusals, truncation, code-fenced JSON, the attribute
//! schema enforced on every answer, and `Retry-After` as seconds, HTTP date or milliseconds.

use std::time::Duration;

use chrono::{DateTime, Utc};
use fieldwork_core::extraction::{self, ExtractionInput, finalize};
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde_json::Value;

use super::extractor::{ExtractError, Proposal};

/// Turns a decoded answer into a proposal, or says why it cannot be one.
pub(super) fn read_answer(
    answer: ChatResponse,
    input: &ExtractionInput,
) -> (Result<Proposal, ExtractError>, &'static str) {
    let unusable = |reason: &str, outcome| {
        (
            Err(ExtractError::Unusable {
                reason: reason.to_owned(),
            }),
            outcome,
        )
    };
    let Some(choice) = answer.choices.into_iter().next() else {
        return unusable("the answer has no choices", "invalid_json");
    };
    let message = choice.message.unwrap_or_default();
    if message
        .refusal
        .as_deref()
        .is_some_and(|r| !r.trim().is_empty())
    {
        return unusable("the model refused to answer", "refusal");
    }
    match choice.finish_reason.as_deref() {
        Some("length") => {
            return unusable(
                "the answer was cut off at the token limit (LLM_MAX_TOKENS)",
                "truncated",
            );
        }
        Some("content_filter") => {
            return unusable(
                "the provider's content filter stopped the answer",
                "refusal",
            );
        }
        _ => {}
    }
    let Some(text) = message.text().filter(|t| !t.trim().is_empty()) else {
        return unusable("the answer is empty", "invalid_json");
    };
    let Ok(json) = serde_json::from_str::<Value>(strip_fences(&text)) else {
        return unusable("the answer is not valid JSON", "invalid_json");
    };
    let schema = match extraction::schema() {
        Ok(s) => s,
        Err(e) => {
            return (
                Err(ExtractError::Rejected {
                    reason: e.to_string(),
                }),
                "rejected",
            );
        }
    };
    match finalize(schema, json, &input.notes, input.visit_date) {
        Ok(p) => (Ok(p), "ok"),
        Err(reason) => (Err(ExtractError::Unusable { reason }), "schema_invalid"),
    }
}

/// Servers that do not enforce the format sometimes wrap JSON in a Markdown code fence.
fn strip_fences(text: &str) -> &str {
    let t = text.trim();
    let Some(inner) = t.strip_prefix("```") else {
        return t;
    };
    let inner = inner.strip_prefix("json").unwrap_or(inner);
    inner.strip_suffix("```").unwrap_or(inner).trim()
}

/// `Retry-After` as seconds or an HTTP date (and OpenAI's `retry-after-ms`), capped at a day.
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let delay = if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        Duration::try_from_secs_f64(ms / 1000.0).ok()
    } else {
        let value = text("retry-after")?;
        match value.parse::<f64>() {
            Ok(secs) => Duration::try_from_secs_f64(secs).ok(),
            Err(_) => DateTime::parse_from_rfc2822(value).ok().map(|at| {
                (at.with_timezone(&Utc) - now)
                    .to_std()
                    .unwrap_or(Duration::ZERO)
            }),
        }
    }?;
    Some(delay.min(Duration::from_secs(24 * 3600)))
}

/// The parts of a chat completion we read; everything else is ignored.
#[derive(Debug, Deserialize)]
pub(super) struct ChatResponse {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    pub(super) usage: Option<Usage>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    #[serde(default)]
    message: Option<Message>,
    /// A string, whatever the server calls its reasons.
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<Value>,
    #[serde(default)]
    refusal: Option<String>,
}

impl Message {
    /// The text: a string, or the text parts of a content array.
    fn text(&self) -> Option<String> {
        match self.content.as_ref()? {
            Value::String(s) => Some(s.clone()),
            Value::Array(parts) => Some(
                parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect(),
            ),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct Usage {
    #[serde(default)]
    pub(super) prompt_tokens: u64,
    #[serde(default)]
    pub(super) completion_tokens: u64,
}

#[derive(Debug, Deserialize)]
pub(super) struct ErrorBody {
    #[serde(default)]
    pub(super) error: Option<ErrorDetail>,
}

/// An error object; only its type and code are kept (a message could echo the request).
#[derive(Debug, Deserialize)]
pub(super) struct ErrorDetail {
    #[serde(default, rename = "type")]
    kind: Option<Value>,
    #[serde(default)]
    code: Option<Value>,
}

impl ErrorDetail {
    pub(super) fn label(&self) -> String {
        let word = |v: &Option<Value>| match v {
            Some(Value::String(s)) => s
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(60)
                .collect(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        [word(&self.kind), word(&self.code)]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_reads_seconds_http_dates_and_milliseconds() {
        let now = DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h, now), None);
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Mon, 02 Mar 2026 09:00:30 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Mon, 02 Mar 2026 08:00:00 GMT"),
        );
        assert_eq!(
            retry_after(&h, now),
            Some(Duration::ZERO),
            "a past date: now"
        );
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
        h.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_millis(1500)));
    }

    #[test]
    fn fenced_json_is_unwrapped() {
        assert_eq!(strip_fences("```json\n{\"a\":1}\n```"), "{\"a\":1}");
        assert_eq!(strip_fences(" {} "), "{}");
    }
}
