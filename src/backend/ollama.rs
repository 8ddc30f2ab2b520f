/*!
Ollama's native chat API (`POST {url}/api/chat`, default
`http://127.0.0.1:11434`). Unlike its `/v1` it takes the JSON schema
directly in `format`, the sampling settings in `options` (`num_predict`,
`num_ctx`), and answers with `message.content` and `done_reason`. Errors
are `{"error": "..."}`; a 404 usually means the model is not pulled, and a
503 means its queue is full (retry). Prompt and answer checks are shared
with the OpenAI-compatible backend in [`super::llm`].
*/

use serde_json::{Value, json};

use super::client::{Answer, Base, Client, Defaults, Protocol, ServerWords, Verdict};
use super::http::{Reply, excerpt};
use super::llm::{self, LlmSettings};
use super::{BackendError, BackendKind, BoxFuture};
use crate::config::{BackendConfig, ConfigError, ResponseFormat};
use crate::model::Request;

const PATH: &str = "/api/chat";

/// Ollama's native chat protocol.
#[derive(Debug)]
pub struct OllamaApi {
    llm: LlmSettings,
    num_ctx: Option<u32>,
}

/// An Ollama server.
pub type Ollama = Client<OllamaApi>;

impl OllamaApi {
    /// The request body for a batch.
    pub fn body(&self, base: &Base, batch: &[Request]) -> Value {
        let prompt = llm::prompt(base, batch);
        let mut options = json!({"temperature": 0});
        if let Some(n) = self.llm.max_tokens_for(batch) {
            options["num_predict"] = json!(n);
        }
        if let Some(n) = self.num_ctx {
            options["num_ctx"] = json!(n);
        }
        let mut body = json!({
            "model": self.llm.model,
            "stream": false,
            "options": options,
            "messages": prompt.messages(),
        });
        match self.llm.response_format {
            ResponseFormat::JsonSchema => body["format"] = llm::answer_schema(),
            ResponseFormat::JsonObject => body["format"] = json!("json"),
            ResponseFormat::None => {}
        }
        body
    }

    async fn send(c: &Ollama, batch: &[Request]) -> Result<Answer, BackendError> {
        let b = &c.base;
        let mut rb = b.http.post(&b.endpoint).json(&c.protocol.body(b, batch));
        if let Some(k) = &b.key {
            rb = rb.bearer_auth(k.expose());
        }
        let reply = c.exchange(rb).await?;
        // A mid-stream error arrives as an NDJSON line while the status is 200.
        let words = super::client::parse_error_body(&reply.body);
        if let Some(msg) = words.message.filter(|_| reply.body.contains("\"error\"")) {
            return Err(llm::error_in_answer(b, reply.status, &excerpt(&msg, 200)));
        }
        let v = b.json(&reply, true)?;
        let content = v
            .get("message")
            .and_then(|m| m.get("content"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                llm::bad_answer(b, reply.status, "the answer has no message content", true)
            })?;
        let done_reason = v.get("done_reason").and_then(Value::as_str);
        llm::each(
            b,
            reply.status,
            llm::check_answers(batch, content, done_reason),
        )
    }
}

impl Protocol for OllamaApi {
    const KIND: BackendKind = BackendKind::Ollama;

    fn defaults() -> Defaults {
        llm::defaults("http://127.0.0.1:11434", 1)
    }

    fn from_config(_: &str, cfg: &BackendConfig, _: &mut Base) -> Result<Self, ConfigError> {
        Ok(OllamaApi {
            llm: LlmSettings::from_config(cfg, PATH),
            num_ctx: cfg.num_ctx,
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

    /// A 404 whose message says the model is not found: pull it.
    fn classify(&self, base: &Base, reply: &Reply, words: &ServerWords, v: &mut Verdict) {
        self.llm.classify(base, reply, words, v);
        if reply.status == 404 && words.lower().contains("not found") {
            v.hint = format!(
                "run `ollama pull {}` on the server or fix model",
                self.llm.model
            );
        }
    }

    fn request_body(&self, base: &Base, batch: &[Request]) -> Option<String> {
        Some(self.body(base, batch).to_string())
    }
}
