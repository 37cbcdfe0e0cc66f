//! House rules as tests, no database needed: the configuration is said once (`--help` of both
//! binaries, `.env.example` and README's table list the same variables; bad values and
//! secrets), the module graphs of `api/` and `core/` have no import loops, and every source
//! file is under 400 lines and opens with a `//!` line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod config;
mod files;
mod imports;

use std::path::PathBuf;

/// The workspace root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}
