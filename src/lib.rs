//! Tidings: an RSS/Atom feed aggregator and publisher for AI-industry news.
//!
//! The pipeline, one module per stage:
//! [`fetch`] → [`decode`] → [`parse`] → [`normalize`] → [`store`] (driven by
//! [`ingest`]), then [`cluster`] → [`tag`] → [`digest`] → [`render`] →
//! [`publish`] (driven by [`daily`]). Plain data types ([`model`], and the
//! digest's `Story` and `Digest`) flow between the stages; I/O stays in
//! `fetch`, `store` and `publish`, so the middle is pure. Clustering reads
//! names through the gazetteer ([`entities`]) and figures through
//! [`figures`]; [`explain`] shows its decisions; [`timespan`] is where
//! every outside number becomes time. An editor's corrections of a day
//! ([`edits`]) are applied while its digest is built.

pub mod cluster;
pub mod config;
pub mod daemon;
pub mod daily;
pub mod decode;
pub mod digest;
pub mod edits;
pub mod enrich;
pub mod entities;
pub mod explain;
pub mod fetch;
pub mod figures;
pub mod fold;
pub mod ingest;
pub mod metrics;
pub mod model;
pub mod normalize;
pub mod opml;
pub mod parse;
pub mod poll;
pub mod publish;
pub mod render;
pub mod report;
pub mod scrape;
pub mod serve;
pub mod store;
pub mod subscriptions;
pub mod tag;
pub mod timespan;
