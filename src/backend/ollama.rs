/*!
Ollama's native chat API (`POST {url}/api/chat`, default
`http://127.0.0.1:11434`). Unlike its `/v1` it takes the JSON schema
directly in `format`, the sampling settings in `options` (`num_predict`,
`num_ctx`), and answers with `message.content` and `done_reason`. Errors
are `{"error": "..."}`; a 404 usually means the model is not pulled, and a
503 means its queue is full (retry). Prompt and answer checks are shared
with the OpenAI-compatible backend in [`super::llm`].
*/

use std::sync::Arc;

use serde_json::{Value, json};

use super::llm::{self, Flavor, LlmCommon};
use super::{Backend, BackendError, BackendKind, ErrorKind, http};
use crate::config::{BackendConfig, ConfigError, ResponseFormat};
use crate::model::Request;

/// An Ollama server.
#[derive(Debug)]
pub struct Ollama {
    common: LlmCommon,
    num_ctx: Option<u32>,
}

/// Build from a `kind = "ollama"` table; a key (for a proxy in front of
/// Ollama) is read from `api_key_env` if one is named.
pub fn build(name: &str, cfg: &BackendConfig) -> Result<Arc<dyn Backend>, ConfigError> {
    Ok(Arc::new(Ollama {
        common: LlmCommon::from_config(name, cfg, Flavor::Ollama)?,
        num_ctx: cfg.num_ctx,
    }))
}

impl Ollama {
    /// The request body for a batch.
    pub fn body(&self, batch: &[Request]) -> Value {
        let c = &self.common;
        let prompt = c.prompt(batch);
        let mut options = json!({"temperature": 0});
        if let Some(n) = c.max_tokens_for(batch) {
            options["num_predict"] = json!(n);
        }
        if let Some(n) = self.num_ctx {
            options["num_ctx"] = json!(n);
        }
        let mut body = json!({
            "model": c.model,
            "stream": false,
            "options": options,
            "messages": prompt.messages(),
        });
        match c.response_format {
            ResponseFormat::JsonSchema => body["format"] = llm::answer_schema(),
            ResponseFormat::JsonObject => body["format"] = json!("json"),
            ResponseFormat::None => {}
        }
        body
    }

    async fn call(&self, batch: &[Request]) -> Result<super::EachAnswer, BackendError> {
        let c = &self.common;
        let url = c.redacted_endpoint();
        let caller = c.caller(&url);
        let mut rb = c.client.post(&c.endpoint).json(&self.body(batch));
        if let Some(k) = &c.key {
            rb = rb.bearer_auth(k.expose());
        }
        let reply = http::send(&c.name, rb, c.timeout)
            .await
            .map_err(|e| c.scrub_error(e))?;
        if !reply.is_success() {
            return Err(caller.http_error(&reply));
        }
        // A mid-stream error arrives as an NDJSON line while the status is 200.
        let se = llm::parse_error_body(&reply.body);
        if let Some(msg) = se.message.filter(|_| reply.body.contains("\"error\"")) {
            return Err(caller.error(
                ErrorKind::Server,
                Some(reply.status),
                &http::excerpt(&msg, 200),
                "Ollama reported an error inside a 200 answer; retrying",
            ));
        }
        let v = c.json_body(&reply, &url)?;
        let content = v
            .get("message")
            .and_then(|m| m.get("content"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                caller.bad_response(reply.status, "the answer has no message content", true)
            })?;
        let done_reason = v.get("done_reason").and_then(Value::as_str);
        caller.each(
            reply.status,
            llm::check_answers(batch, content, done_reason),
        )
    }
}

llm::llm_backend!(Ollama, BackendKind::Ollama);
