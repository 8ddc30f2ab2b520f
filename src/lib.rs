/*!
tarjama: an Arabic-to-English machine-assisted translation workbench.

The library holds every stage of the pipeline; the `tarjama` binary is a
thin command-line layer over it. Stages, in the order data flows:

1. [`input`] and [`segment`]: an article becomes paragraphs and sentences,
   with the original text and character offsets kept;
2. [`normalize`] and [`glossary`]: pinned names and terms are found through
   Arabic spelling variation and clitics, and later checked in the English;
3. [`memory`] (with [`tmx`]): the SQLite cache and translation memory;
4. [`backend`]: the MT protocols and the engine that batches, paces and
   retries requests;
5. [`pipeline`]: the whole run, from segments to aligned pairs;
6. [`output`] and [`qa`]: bilingual documents, the review round trip and
   quality checks; [`review`]: the local post-editing page.

Shared types live in [`model`]; the configuration file in [`config`].

```
use tarjama::segment::{Segmenter, SegmentOptions};

let segs = Segmenter::default().segment(
    "قال د. أحمد إن الاجتماع انتهى. هل من جديد؟ لا.",
    SegmentOptions::default(),
);
let texts: Vec<&str> = segs.iter().map(|s| s.text.as_str()).collect();
assert_eq!(texts, ["قال د. أحمد إن الاجتماع انتهى.", "هل من جديد؟", "لا."]);
```
*/

#![forbid(unsafe_code)]

pub mod atomic;
pub mod backend;
pub mod config;
pub mod glossary;
pub mod inline;
pub mod input;
pub mod job;
pub mod memory;
pub mod model;
pub mod net;
pub mod normalize;
pub mod output;
pub mod pipeline;
pub mod qa;
pub mod review;
pub mod segment;
pub mod tmx;
pub mod xml;
