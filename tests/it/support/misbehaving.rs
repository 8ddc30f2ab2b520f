//! An OpenAI-compatible server that misbehaves the way real models do, at a
//! set rate, with a seeded generator: it answers `POST …/chat/completions`
//! with [`super::fake_english`] translations (copying the first words of
//! each source into `ar_start`, as the prompt asks), and a share of the
//! requests carrying two segments or more get one [`Misbehaviour`]:
//! two segments' answers exchanged, three rotated, the context headline translated under
//! an id that was not asked for, an Arabic word left in one segment, two
//! segments merged into one entry, one entry dropped, the JSON wrapped in
//! prose, or the answer cut off (`finish_reason: "length"`).
//!
//! The log keeps, per request, the Arabic it carried and what was done to
//! it, so that a test can tell the ideal number of requests from the
//! number spent, and which segments were swapped.
//!
//! Whether and how a request misbehaves is drawn from the seed and the
//! request's own segments, not from the order requests arrive in: the same
//! run gives the same answers whatever the timing, so the tests that count
//! requests are deterministic.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::{Handler, HttpRequest, Reply, fake_english, llm_segments};

/// What a model can do wrong with a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Misbehaviour {
    /// Two segments get each other's answer (English and copied words).
    Swap,
    /// Three neighbouring segments' answers rotated: each gets the next
    /// one's (English and copied words).
    Rotate,
    /// The context headline is translated too, under an id of its own.
    StrayId,
    /// One segment's English keeps an Arabic word.
    ArabicLeft,
    /// Two neighbouring segments answered as one entry, the second missing.
    Merge,
    /// One entry left out.
    DropOne,
    /// The JSON inside a line of prose and a code fence.
    Prose,
    /// The answer stops half-way (`finish_reason: "length"`).
    CutOff,
}

impl Misbehaviour {
    pub const ALL: [Misbehaviour; 8] = [
        Misbehaviour::Swap,
        Misbehaviour::Rotate,
        Misbehaviour::StrayId,
        Misbehaviour::ArabicLeft,
        Misbehaviour::Merge,
        Misbehaviour::DropOne,
        Misbehaviour::Prose,
        Misbehaviour::CutOff,
    ];
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The `problem` notes of its segments (a retry that names what was wrong).
    pub problems: Vec<String>,
    /// The Arabic of its segments, in order.
    pub texts: Vec<String>,
    pub misbehaviour: Option<Misbehaviour>,
    /// For a swap or a rotation: the Arabic sources whose answers were
    /// moved.
    pub swapped: Option<Vec<String>>,
}

pub struct Misbehaving {
    rate: f64,
    kinds: Vec<Misbehaviour>,
    seed: u64,
    log: Mutex<Vec<Seen>>,
    /// A source text whose answer always keeps an Arabic word, however it
    /// is asked (a model that fails the same way every time).
    pub stubborn: Mutex<Option<String>>,
    /// Whether a re-request's `must_use` terms are written into its
    /// English (`"; Peskov"`): a model that ignores the terminology until it
    /// is insisted on. Off: the terms are never written (a model that
    /// ignores them however it is asked).
    pub obeys_must_use: Mutex<bool>,
}

impl Misbehaving {
    /// Each request of two segments or more misbehaves with probability
    /// `rate`, in one of `kinds` drawn at random.
    pub fn new(seed: u64, rate: f64, kinds: &[Misbehaviour]) -> Arc<Misbehaving> {
        Arc::new(Misbehaving {
            rate,
            kinds: kinds.to_vec(),
            seed,
            log: Mutex::new(Vec::new()),
            stubborn: Mutex::new(None),
            obeys_must_use: Mutex::new(false),
        })
    }

    pub fn log(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    /// The first words of a source, as a cooperating model copies them.
    fn first_words(ar: &str) -> String {
        ar.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    }

    pub fn handler(self: &Arc<Self>) -> Handler {
        let me = self.clone();
        Arc::new(move |req: HttpRequest| {
            let me = me.clone();
            Box::pin(async move { me.answer(req) })
        })
    }

    fn answer(&self, req: HttpRequest) -> Reply {
        let Some(body) = req.json() else {
            return super::openai_error(400, "We could not parse the JSON body of your request.");
        };
        let segs = llm_segments(&body, "messages");
        let headline = body["messages"]
            .as_array()
            .and_then(|m| m.iter().find(|x| x["role"] == "user"))
            .and_then(|m| m["content"].as_str())
            .and_then(|u| serde_json::from_str::<Value>(u).ok())
            .and_then(|p| p["context"]["headline"].as_str().map(str::to_string));
        let (kind, pick) = {
            // drawn from the seed and this request's segments
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            self.seed.hash(&mut h);
            for (_, ar) in &segs {
                ar.hash(&mut h);
            }
            let mut rng = fastrand::Rng::with_seed(h.finish());
            let mut kind = (segs.len() >= 2 && !self.kinds.is_empty() && rng.f64() < self.rate)
                .then(|| self.kinds[rng.usize(..self.kinds.len())]);
            if kind == Some(Misbehaviour::Rotate) && segs.len() < 3 {
                kind = Some(Misbehaviour::Swap);
            }
            let span = if kind == Some(Misbehaviour::Rotate) {
                2
            } else {
                1
            };
            (kind, rng.usize(..segs.len().max(span + 1) - span))
        };
        let mut items: Vec<Value> = segs
            .iter()
            .map(|(id, ar)| json!({"id": id, "ar_start": Self::first_words(ar), "en": fake_english(ar)}))
            .collect();
        let mut swapped = None;
        let mut finish = "stop";
        let mut kind = kind;
        match kind {
            Some(Misbehaviour::Swap) => {
                let (a, b) = (pick, pick + 1);
                let (ea, eb) = (items[a].clone(), items[b].clone());
                items[a]["en"] = eb["en"].clone();
                items[a]["ar_start"] = eb["ar_start"].clone();
                items[b]["en"] = ea["en"].clone();
                items[b]["ar_start"] = ea["ar_start"].clone();
                swapped = Some(vec![segs[a].1.clone(), segs[b].1.clone()]);
            }
            Some(Misbehaviour::Rotate) => {
                let moved: Vec<Value> = items[pick..pick + 3].to_vec();
                for k in 0..3 {
                    let from = &moved[(k + 1) % 3];
                    items[pick + k]["en"] = from["en"].clone();
                    items[pick + k]["ar_start"] = from["ar_start"].clone();
                }
                swapped = Some(segs[pick..pick + 3].iter().map(|s| s.1.clone()).collect());
            }
            Some(Misbehaviour::StrayId) => match &headline {
                Some(h) => items.insert(
                    0,
                    json!({"id": "context", "ar_start": Self::first_words(h), "en": fake_english(h)}),
                ),
                None => kind = None,
            },
            Some(Misbehaviour::ArabicLeft) => {
                let ar_word = segs[pick].1.split_whitespace().next().unwrap_or("و");
                let en = format!("{} {ar_word}", items[pick]["en"].as_str().unwrap_or(""));
                items[pick]["en"] = Value::String(en);
            }
            Some(Misbehaviour::Merge) => {
                let second = items.remove(pick + 1);
                let en = format!(
                    "{} {}",
                    items[pick]["en"].as_str().unwrap_or(""),
                    second["en"].as_str().unwrap_or("")
                );
                items[pick]["en"] = Value::String(en);
            }
            Some(Misbehaviour::DropOne) => {
                items.remove(pick);
            }
            Some(Misbehaviour::CutOff) => finish = "length",
            Some(Misbehaviour::Prose) | None => {}
        }
        if *self.obeys_must_use.lock().unwrap() {
            let user = body["messages"]
                .as_array()
                .and_then(|m| m.iter().find(|x| x["role"] == "user"))
                .and_then(|m| m["content"].as_str())
                .and_then(|u| serde_json::from_str::<Value>(u).ok())
                .unwrap_or_default();
            for (item, seg) in items
                .iter_mut()
                .zip(user["segments"].as_array().into_iter().flatten())
            {
                for t in seg["must_use"].as_array().into_iter().flatten() {
                    let en = format!(
                        "{}; {}",
                        item["en"].as_str().unwrap_or(""),
                        t.as_str().unwrap_or("")
                    );
                    item["en"] = Value::String(en);
                }
            }
        }
        if let Some(bad) = self.stubborn.lock().unwrap().as_deref() {
            for (item, (_, ar)) in items.iter_mut().zip(&segs) {
                if ar == bad {
                    let en = format!("{} {}", item["en"].as_str().unwrap_or(""), "كلمة");
                    item["en"] = Value::String(en);
                }
            }
        }
        let problems: Vec<String> = body["messages"]
            .as_array()
            .and_then(|m| m.iter().find(|x| x["role"] == "user"))
            .and_then(|m| m["content"].as_str())
            .and_then(|u| serde_json::from_str::<Value>(u).ok())
            .and_then(|p| {
                p["segments"].as_array().map(|a| {
                    a.iter()
                        .filter_map(|s| s["problem"].as_str().map(str::to_string))
                        .collect()
                })
            })
            .unwrap_or_default();
        let mut content = json!({ "translations": items }).to_string();
        match kind {
            Some(Misbehaviour::Prose) => {
                content =
                    format!("Here are the translations you asked for:\n```json\n{content}\n```")
            }
            Some(Misbehaviour::CutOff) => {
                let mut cut = content.len() / 2;
                while !content.is_char_boundary(cut) {
                    cut -= 1;
                }
                content.truncate(cut);
            }
            _ => {}
        }
        self.log.lock().unwrap().push(Seen {
            problems,
            texts: segs.iter().map(|(_, a)| a.clone()).collect(),
            misbehaviour: kind,
            swapped,
        });
        let answer = json!({
            "id": "chatcmpl-misbehaving", "object": "chat.completion", "created": 1726012687,
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
            "usage": {"prompt_tokens": 40, "completion_tokens": 8, "total_tokens": 48}
        });
        Reply::json(200, &answer)
    }
}
