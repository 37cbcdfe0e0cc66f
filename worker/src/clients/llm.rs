//! Settings of the attribute extractor: `LLM_PROVIDER` (`rules`, the default, or `openai`),
//! and for `openai` the endpoint (`OPENAI_BASE_URL`), key (`OPENAI_API_KEY`), model
//! (`LLM_MODEL`), per-request timeout (`LLM_TIMEOUT_SECS`) and answer cap (`LLM_MAX_TOKENS`).

use std::time::Duration;

use fieldwork_core::config::Secret;

/// Which extractor runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LlmProvider {
    /// Offline patterns: deterministic, no network.
    #[default]
    Rules,
    /// Any OpenAI-compatible chat-completions server (OpenAI, vLLM, Ollama, llama.cpp).
    OpenAi,
}

impl std::str::FromStr for LlmProvider {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "rules" | "" => Ok(LlmProvider::Rules),
            "openai" => Ok(LlmProvider::OpenAi),
            other => Err(format!(
                "LLM_PROVIDER must be rules or openai, not {other:?}"
            )),
        }
    }
}

/// Default `OPENAI_BASE_URL`.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// Default `LLM_MODEL`.
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";

/// How the extractor is reached.
#[derive(Clone)]
pub struct LlmSettings {
    pub provider: LlmProvider,
    /// The API root, up to and including `/v1` (`/chat/completions` is appended).
    pub base_url: String,
    /// Bearer token; none for local servers that need none.
    pub api_key: Option<Secret>,
    pub model: String,
    /// Longest one request may take (connect to last byte): 1 to 300 s.
    pub timeout: Duration,
    /// Most tokens the answer may use (`max_tokens`).
    pub max_tokens: u32,
}

impl Default for LlmSettings {
    fn default() -> Self {
        Self {
            provider: LlmProvider::Rules,
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_key: None,
            model: DEFAULT_MODEL.to_owned(),
            timeout: Duration::from_secs(30),
            max_tokens: 1024,
        }
    }
}

// The key never reaches a log line.
impl std::fmt::Debug for LlmSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmSettings")
            .field("provider", &self.provider)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key)
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .field("max_tokens", &self.max_tokens)
            .finish()
    }
}

impl LlmSettings {
    /// Checks the values a worker would otherwise trip over in its first job.
    pub fn validate(&self) -> Result<(), String> {
        if self.provider == LlmProvider::Rules {
            return Ok(());
        }
        let url = self.base_url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "OPENAI_BASE_URL must start with http:// or https:// (got {url:?})"
            ));
        }
        if self.model.trim().is_empty() {
            return Err("LLM_MODEL must not be empty with LLM_PROVIDER=openai".into());
        }
        if self.timeout < Duration::from_secs(1) || self.timeout > Duration::from_secs(300) {
            return Err("LLM_TIMEOUT_SECS must be between 1 and 300".into());
        }
        if !(64..=32_768).contains(&self.max_tokens) {
            return Err("LLM_MAX_TOKENS must be between 64 and 32768".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_parse_and_bad_settings_are_named() {
        assert_eq!("rules".parse::<LlmProvider>(), Ok(LlmProvider::Rules));
        assert_eq!("openai".parse::<LlmProvider>(), Ok(LlmProvider::OpenAi));
        assert!(
            "gpt"
                .parse::<LlmProvider>()
                .unwrap_err()
                .contains("LLM_PROVIDER")
        );
        let s = LlmSettings {
            provider: LlmProvider::OpenAi,
            base_url: "localhost:8080".into(),
            ..LlmSettings::default()
        };
        assert!(s.validate().unwrap_err().contains("OPENAI_BASE_URL"));
        let s = LlmSettings {
            provider: LlmProvider::OpenAi,
            api_key: Some("sk-secret".into()),
            ..LlmSettings::default()
        };
        assert!(s.validate().is_ok());
        assert!(!format!("{s:?}").contains("sk-secret"));
    }
}
