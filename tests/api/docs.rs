//! The documentation stays true to the code: every error code and every event type is
//! documented.

use fieldwork_core::ErrorCode;

#[test]
fn every_error_code_is_documented_with_its_status() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/ERROR_CODES.md"
    ))
    .unwrap();
    for code in ErrorCode::ALL {
        let heading = format!("### `{}`", code.as_str());
        let at = doc
            .find(&heading)
            .unwrap_or_else(|| panic!("{heading} missing from docs/ERROR_CODES.md"));
        let section = &doc[at..];
        let status = format!("**HTTP Status:** {}", code.http_status());
        assert!(section.contains(&status), "{heading} must say {status}");
    }
}

#[test]
fn every_event_type_is_listed_in_the_api_document() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/API.md")).unwrap();
    for t in fieldwork_core::events::EVENT_TYPES {
        assert!(
            doc.contains(&format!("`{t}`")),
            "{t} missing from docs/API.md"
        );
    }
}
