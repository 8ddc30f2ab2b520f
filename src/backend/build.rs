/*!
From a backend table to a running client: the one place that knows which
module speaks which `kind`, so that the CLI and the pipeline never match on
kinds themselves.
*/

use std::sync::Arc;

use super::{Backend, BackendKind, azure, deepl, google, libretranslate, ollama, openai, template};
use crate::config::{BackendConfig, ConfigError};

/// Build the backend called `name` from its table. Reads the API key from
/// the variable named by `api_key_env`; errors name that variable, never a
/// value.
pub fn build(name: &str, cfg: &BackendConfig) -> Result<Arc<dyn Backend>, ConfigError> {
    match cfg.kind {
        BackendKind::Openai => openai::build(name, cfg),
        BackendKind::Ollama => ollama::build(name, cfg),
        BackendKind::Template => template::build(name, cfg),
        BackendKind::Libretranslate => libretranslate::build(name, cfg),
        BackendKind::Deepl => deepl::build(name, cfg),
        BackendKind::Google => google::build(name, cfg),
        BackendKind::Azure => azure::build(name, cfg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_llm_kinds_and_rejects_a_missing_model() {
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
    }
}
