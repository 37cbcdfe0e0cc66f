//! The documentation stays true to the code: every error code is documented.

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
