//! Which protocol a backend table names: the one place that goes from a
//! [`BackendKind`] to its protocol, for the defaults a table leaves out and
//! for building the backend. The protocols import the shared client, and
//! this module imports both, so the client never imports a protocol.

use std::time::Duration;

use super::client::{Defaults, Protocol, TIMEOUT_SECS};
use super::{
    Backend, BackendKind, TermMode, azure, deepl, google, libretranslate, ollama, openai, template,
};
use crate::config::{BackendConfig, ConfigError, ResponseFormat};

/// The defaults of `kind`'s protocol.
pub fn defaults(kind: BackendKind) -> Defaults {
    match kind {
        BackendKind::Libretranslate => libretranslate::LibreTranslateApi::defaults(),
        BackendKind::Deepl => deepl::DeepLApi::defaults(),
        BackendKind::Google => google::GoogleApi::defaults(),
        BackendKind::Azure => azure::AzureApi::defaults(),
        BackendKind::Openai => openai::OpenAiApi::defaults(),
        BackendKind::Ollama => ollama::OllamaApi::defaults(),
        BackendKind::Template => template::TemplateApi::defaults(),
    }
}

/// A backend table's values with the protocol's defaults filled in.
impl BackendConfig {
    /// The base URL without a trailing slash. DeepL without a `url` picks
    /// the free endpoint when the key ends in `:fx`.
    pub fn url_or_default(&self) -> Option<String> {
        let default = match self.kind {
            BackendKind::Deepl => Some(deepl::base_for_key(
                self.key.as_ref().map(|k| k.expose()).unwrap_or(""),
            )),
            kind => defaults(kind).url,
        };
        self.url
            .as_deref()
            .or(default)
            .map(|u| u.trim().trim_end_matches('/').to_string())
    }

    pub fn batch_size_or_default(&self) -> usize {
        self.batch_size
            .unwrap_or_else(|| defaults(self.kind).batch_size)
    }

    pub fn concurrency_or_default(&self) -> usize {
        self.concurrency
            .unwrap_or_else(|| defaults(self.kind).concurrency)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout_secs.unwrap_or(TIMEOUT_SECS))
    }

    /// The timeout added per character of a batch.
    pub fn timeout_per_char(&self) -> Duration {
        Duration::from_secs_f64(
            self.timeout_ms_per_char
                .unwrap_or_else(|| defaults(self.kind).timeout_ms_per_char)
                / 1000.0,
        )
    }

    pub fn terms_or_default(&self) -> TermMode {
        self.terms.unwrap_or_else(|| defaults(self.kind).terms)
    }

    pub fn source_lang_or_default(&self) -> &str {
        self.source_lang
            .as_deref()
            .unwrap_or_else(|| defaults(self.kind).source_lang)
    }

    pub fn target_lang_or_default(&self) -> &str {
        self.target_lang
            .as_deref()
            .unwrap_or_else(|| defaults(self.kind).target_lang)
    }

    pub fn response_format_or_default(&self) -> ResponseFormat {
        self.response_format.unwrap_or(ResponseFormat::JsonSchema)
    }
}

/// Build the backend called `name` from its table, whatever its kind.
pub fn build(name: &str, cfg: &BackendConfig) -> Result<std::sync::Arc<dyn Backend>, ConfigError> {
    use std::sync::Arc;
    Ok(match cfg.kind {
        BackendKind::Libretranslate => Arc::new(libretranslate::LibreTranslate::new(name, cfg)?),
        BackendKind::Deepl => Arc::new(deepl::DeepL::new(name, cfg)?),
        BackendKind::Google => Arc::new(google::Google::new(name, cfg)?),
        BackendKind::Azure => Arc::new(azure::Azure::new(name, cfg)?),
        BackendKind::Openai => Arc::new(openai::OpenAi::new(name, cfg)?),
        BackendKind::Ollama => Arc::new(ollama::Ollama::new(name, cfg)?),
        BackendKind::Template => Arc::new(template::Template::new(name, cfg)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_every_kind_from_its_defaults() {
        let mut c = BackendConfig::new(BackendKind::Ollama);
        c.model = Some("llama3.2".into());
        let b = build("local", &c).unwrap();
        assert_eq!(b.kind(), BackendKind::Ollama);
        assert_eq!(b.endpoint(), "http://127.0.0.1:11434/api/chat");
        let mut c = BackendConfig::new(BackendKind::Openai);
        c.model = Some("m".into());
        c.url = Some("http://127.0.0.1:8080/v1/".into());
        let b = build("vllm", &c).unwrap();
        assert_eq!(b.endpoint(), "http://127.0.0.1:8080/v1/chat/completions");
        assert_eq!(b.limits().max_items, 8);
        // An LLM without a model is a config error naming the key.
        let e = build("x", &BackendConfig::new(BackendKind::Openai))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("model"), "{e}");
        // DeepL: the key picks Free or Pro; a protocol's cap wins over batch_size.
        let mut c = BackendConfig::new(BackendKind::Deepl);
        c.api_key_env = Some("K".into());
        c.take_key(&crate::config::Env::default().with("K", "abc:fx"));
        c.batch_size = Some(500);
        let b = build("dl", &c).unwrap();
        assert_eq!(b.endpoint(), "https://api-free.deepl.com/v2/translate");
        assert_eq!(b.limits().max_items, deepl::MAX_TEXTS);
        // A named but unset variable, and one set to nothing.
        c.key = None;
        let e = build("dl", &c).err().unwrap().to_string();
        assert!(e.contains("K") && e.contains("not set"), "{e}");
        c.take_key(&crate::config::Env::default().with("K", " "));
        let e = build("dl", &c).err().unwrap().to_string();
        assert!(e.contains("empty"), "{e}");
        // A term mode the protocol does not offer.
        let mut c = BackendConfig::new(BackendKind::Libretranslate);
        c.terms = Some(TermMode::Native);
        let e = build("lt", &c).err().unwrap().to_string();
        assert!(e.contains("\"native\" is not available"), "{e}");
    }
}
