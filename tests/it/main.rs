//! The integration tests: one binary that drives the real `tarjama`
//! executable, one module per area, sharing one set of fixtures
//! (`tests/fixtures/`) and one set of fake servers (`support`).

mod segment_eval;
mod support;

mod backends_cli;
mod backends_engine;
mod backends_llm;
mod backends_protocols;
mod bilingual;
mod daily;
mod desk;
mod desk_glossary;
mod documents;
mod glossary;
mod hostile;
mod hostile_parsers;
mod libreoffice;
mod llm_answers;
mod memory;
mod omegat;
mod output;
mod qa;
mod resilience;
mod review;
mod secrets;
mod segment;
mod translate;
