//! Cursors: any text decodes or is refused (no panic); what decodes encodes back to itself.
#![no_main]

use fieldwork_core::pagination::Cursor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cursor) = Cursor::decode(text) {
        assert_eq!(cursor.encode(), text, "a cursor reads back as written");
        let _ = Cursor::after_id(Some(cursor));
    }
});
