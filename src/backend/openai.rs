/*!
OpenAI-compatible chat completions (`POST {url}/chat/completions`): OpenAI,
vLLM, llama.cpp's server, Ollama's `/v1`, and the many hosted APIs that copy
them. One request carries a batch of segments as a JSON payload; the answer
is asked for as JSON through `response_format` (a nested `json_schema`,
which is the only form llama.cpp honours) and checked by [`super::llm`].
Temperature is always sent, as 0: Ollama's `/v1` sets an omitted one to 1.
*/

use serde_json::{Value, json};

use super::client::{Answer, Base, Client, Defaults, Protocol, ServerWords, Verdict};
use super::http::{Reply, excerpt};
use super::llm::{self, LlmSettings};
use super::{BackendError, BackendKind, BoxFuture};
use crate::config::{BackendConfig, ConfigError, ResponseFormat};
use crate::model::Request;

const PATH: &str = "/chat/completions";

/// The chat-completions protocol.
#[derive(Debug)]
pub struct OpenAiApi {
    llm: LlmSettings,
}

/// A chat-completions endpoint.
pub type OpenAi = Client<OpenAiApi>;

impl OpenAiApi {
    /// The request body for a batch.
    pub fn body(&self, base: &Base, batch: &[Request]) -> Value {
        let prompt = llm::prompt(base, batch);
        let mut body = json!({
            "model": self.llm.model,
            "temperature": 0,
            "stream": false,
            "messages": prompt.messages(),
        });
        if let Some(n) = self.llm.max_tokens_for(batch) {
            body["max_tokens"] = json!(n);
        }
        match self.llm.response_format {
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

    async fn send(c: &OpenAi, batch: &[Request]) -> Result<Answer, BackendError> {
        let b = &c.base;
        let mut rb = b.http.post(&b.endpoint).json(&c.protocol.body(b, batch));
        if let Some(k) = &b.key {
            rb = rb.bearer_auth(k.expose());
        }
        let reply = c.exchange(rb).await?;
        let v = b.json(&reply, true)?;
        if let Some(err) = v.get("error") {
            let words = super::client::parse_error_body(&v.to_string());
            let msg = words.message.unwrap_or_else(|| err.to_string());
            return Err(llm::error_in_answer(b, reply.status, &excerpt(&msg, 200)));
        }
        let choice = v
            .get("choices")
            .and_then(|c| c.get(0))
            .ok_or_else(|| llm::bad_answer(b, reply.status, "the answer has no choices", true))?;
        let finish = choice.get("finish_reason").and_then(Value::as_str);
        let message = choice.get("message");
        let content = message
            .and_then(|m| m.get("content"))
            .and_then(Value::as_str);
        let Some(content) = content else {
            let refusal = message
                .and_then(|m| m.get("refusal"))
                .and_then(Value::as_str)
                .map(|r| format!("the model refused: {}", excerpt(r, 120)))
                .unwrap_or_else(|| "the answer has no message content".into());
            return Err(llm::bad_answer(b, reply.status, &refusal, false));
        };
        llm::each(b, reply.status, llm::check_answers(batch, content, finish))
    }
}

impl Protocol for OpenAiApi {
    const KIND: BackendKind = BackendKind::Openai;

    fn defaults() -> Defaults {
        llm::defaults("https://api.openai.com/v1", 4)
    }

    fn from_config(_: &str, cfg: &BackendConfig, _: &mut Base) -> Result<Self, ConfigError> {
        Ok(OpenAiApi {
            llm: LlmSettings::from_config(cfg, PATH),
        })
    }

    fn endpoint(base_url: &str, _: &BackendConfig) -> String {
        llm::endpoint(base_url, PATH)
    }

    fn call<'a>(
        c: &'a Client<Self>,
        batch: &'a [Request],
    ) -> BoxFuture<'a, Result<Answer, BackendError>> {
        Box::pin(Self::send(c, batch))
    }

    fn classify(&self, base: &Base, reply: &Reply, words: &ServerWords, v: &mut Verdict) {
        self.llm.classify(base, reply, words, v);
    }

    fn request_body(&self, base: &Base, batch: &[Request]) -> Option<String> {
        // What reqwest's `.json(&body)` serialises.
        Some(self.body(base, batch).to_string())
    }
}
