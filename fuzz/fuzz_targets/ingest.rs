//! Any bytes through decode → parse → normalize (the whole feed path).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings::config::{Location, Source};
use tidings::fetch::Fetched;

fuzz_target!(|data: &[u8]| {
    let source = Source::new("fuzz", Location::Http("http://fuzz.example/feed".parse().unwrap()), chrono_tz::Asia::Shanghai);
    let fetched = Fetched::from_bytes(data.to_vec(), "http://fuzz.example/feed");
    let now = chrono::DateTime::from_timestamp(1_743_555_600, 0).unwrap();
    let _ = tidings::ingest::process(&source, &fetched, now);
});
