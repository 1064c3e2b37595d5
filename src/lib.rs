//! Tidings: an RSS/Atom feed aggregator and publisher for AI-industry news.
//!
//! The pipeline, one module per stage:
//! [`fetch`] → [`decode`] → [`parse`] → [`normalize`] → [`store`], driven by
//! [`ingest`]. Plain data types ([`model`]) flow between the stages; I/O stays
//! in `fetch` and `store`, so the middle is pure.

pub mod cluster;
pub mod config;
pub mod decode;
pub mod fetch;
pub mod fold;
pub mod ingest;
pub mod model;
pub mod normalize;
pub mod parse;
pub mod report;
pub mod store;
pub mod tag;
