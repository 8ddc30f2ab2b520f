/*!
OpenAI-compatible chat completions (`POST {url}/chat/completions`): OpenAI,
vLLM, llama.cpp's server, Ollama's `/v1`, and the many hosted APIs that copy
them. One request carries a batch of segments as a JSON payload; the answer
is asked for as JSON through `response_format` (a nested `json_schema`,
which is the only form llama.cpp honours) and checked by [`super::llm`].
Temperature is always sent, as 0: Ollama's `/v1` sets an omitted one to 1.
*/

use std::sync::Arc;

use serde_json::{Value, json};

use super::llm::{self, Flavor, LlmCommon};
use super::{Backend, BackendError, BackendKind, ErrorKind, http};
use crate::config::{BackendConfig, ConfigError, ResponseFormat};
use crate::model::Request;

/// A chat-completions endpoint.
#[derive(Debug)]
pub struct OpenAi {
    common: LlmCommon,
}

/// Build from a `kind = "openai"` table; reads the key from `api_key_env`.
pub fn build(name: &str, cfg: &BackendConfig) -> Result<Arc<dyn Backend>, ConfigError> {
    Ok(Arc::new(OpenAi {
        common: LlmCommon::from_config(name, cfg, Flavor::OpenAi)?,
    }))
}

impl OpenAi {
    /// The request body for a batch.
    pub fn body(&self, batch: &[Request]) -> Value {
        let c = &self.common;
        let prompt = c.prompt(batch);
        let mut body = json!({
            "model": c.model,
            "temperature": 0,
            "stream": false,
            "messages": prompt.messages(),
        });
        if let Some(n) = c.max_tokens_for(batch) {
            body["max_tokens"] = json!(n);
        }
        match c.response_format {
            ResponseFormat::JsonSchema => {
                body["response_format"] = json!({
                    "type": "json_schema",
                    "json_schema": {
                        "name": llm::SCHEMA_NAME,
                        "strict": true,
                        "schema": llm::answer_schema(),
                    }
                });
            }
            ResponseFormat::JsonObject => {
                body["response_format"] = json!({"type": "json_object"});
            }
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
        let v = c.json_body(&reply, &url)?;
        if let Some(err) = v.get("error") {
            let se = llm::parse_error_body(&v.to_string());
            let msg = se.message.unwrap_or_else(|| err.to_string());
            return Err(caller.error(
                ErrorKind::Server,
                Some(reply.status),
                &http::excerpt(&msg, 200),
                "the server reported an error inside a 200 answer; retrying",
            ));
        }
        let choice = v
            .get("choices")
            .and_then(|c| c.get(0))
            .ok_or_else(|| caller.bad_response(reply.status, "the answer has no choices", true))?;
        let finish = choice.get("finish_reason").and_then(Value::as_str);
        let message = choice.get("message");
        let content = message
            .and_then(|m| m.get("content"))
            .and_then(Value::as_str);
        let Some(content) = content else {
            let refusal = message
                .and_then(|m| m.get("refusal"))
                .and_then(Value::as_str)
                .map(|r| format!("the model refused: {}", http::excerpt(r, 120)))
                .unwrap_or_else(|| "the answer has no message content".into());
            return Err(caller.bad_response(reply.status, &refusal, false));
        };
        caller.each(reply.status, llm::check_answers(batch, content, finish))
    }
}

llm::llm_backend!(OpenAi, BackendKind::Openai);
