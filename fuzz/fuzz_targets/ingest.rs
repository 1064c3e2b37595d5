//! Any bytes through decode → parse → normalize (the whole feed path).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings::config::{IdPolicy, Location, Source};
use tidings::fetch::Fetched;

fuzz_target!(|data: &[u8]| {
    let source = Source {
        name: "fuzz".into(),
        location: Location::Http("http://fuzz.example/feed".parse().unwrap()),
        timezone: chrono_tz::Asia::Shanghai,
        id_policy: IdPolicy::Guid,
        interval: None,
        html: None,
        enrich: false,
        full_text: false,
    };
    let fetched = Fetched {
        body: data.to_vec(),
        content_type: None,
        final_url: "http://fuzz.example/feed".into(),
        etag: None,
        last_modified: None,
        max_age: None,
    };
    let now = chrono::DateTime::from_timestamp(1_743_555_600, 0).unwrap();
    let _ = tidings::ingest::process(&source, &fetched, now);
});
