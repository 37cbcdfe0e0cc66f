//! Timestamps as clients send them (RFC 3339 in JSON) and the years-2000-to-2100 rule: no
//! panic on any input; accepted ones lie in range.
#![no_main]

use chrono::{DateTime, Datelike, Utc};
use fieldwork_core::values;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let quoted = serde_json::to_vec(&String::from_utf8_lossy(data)).unwrap_or_default();
    for bytes in [data, quoted.as_slice()] {
        if let Ok(at) = serde_json::from_slice::<DateTime<Utc>>(bytes)
            && let Ok(ok) = values::timestamp(at)
        {
            assert!((2000..=2100).contains(&ok.year()));
        }
    }
});
