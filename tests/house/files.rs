//! Every Rust source file of the workspace (not `vendor/`) is under 400 lines and starts with
//! a `//!` line saying what it owns.

use std::path::{Path, PathBuf};

use crate::repo;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_source_file_is_under_400_lines_and_opens_with_a_module_comment() {
    let mut files = Vec::new();
    for dir in ["api/src", "core/src", "worker/src", "tests"] {
        sources(&repo().join(dir), &mut files);
    }
    assert!(files.len() > 100, "{} files", files.len());
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let name = file.strip_prefix(repo()).unwrap().display().to_string();
        let lines = text.lines().count();
        if lines > 400 {
            problems.push(format!("{name}: {lines} lines"));
        }
        if !text.starts_with("//!") {
            problems.push(format!("{name}: no //! first line"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
