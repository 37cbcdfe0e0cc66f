//! The configuration is said once: the variables `fieldwork-api --help` and
//! `fieldwork-worker --help` list are exactly those of `.env.example` and of README's
//! configuration table; a bad value stops a binary with one line naming the variable; a
//! secret never appears in `--help`.

use std::collections::BTreeSet;
use std::process::Output;

use fieldwork_tests::process::workspace_bin;

use crate::repo;

/// Runs a binary with only `env` (and PATH) in its environment.
fn run(bin: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = std::process::Command::new(workspace_bin(bin));
    cmd.args(args).env_clear();
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// The variables a `--help` text names in its `[env: NAME...]` notes.
fn help_variables(bin: &str) -> BTreeSet<String> {
    let out = run(bin, &["--help"], &[]);
    assert!(out.status.success(), "{bin} --help failed");
    let text = String::from_utf8(out.stdout).unwrap();
    let vars: BTreeSet<String> = text
        .match_indices("[env: ")
        .map(|(at, _)| {
            text[at + 6..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect()
        })
        .collect();
    assert!(vars.len() > 10, "{bin}: {vars:?}");
    vars
}

fn env_example_variables() -> BTreeSet<String> {
    std::fs::read_to_string(repo().join(".env.example"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_owned()))
        .filter(|k| !k.is_empty())
        .collect()
}

/// The first column of README's configuration table (`| \`NAME\` | default | meaning |`).
fn readme_variables() -> BTreeSet<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme
        .find("| variable | default | meaning |")
        .expect("README has its configuration table");
    readme[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| {
            let cell = l.split('|').nth(1)?.trim();
            Some(cell.trim_matches('`').to_owned())
        })
        .collect()
}

#[test]
fn help_of_both_binaries_env_example_and_the_readme_table_list_the_same_variables() {
    let api = help_variables("fieldwork-api");
    let worker = help_variables("fieldwork-worker");
    for shared in [
        "DATABASE_URL",
        "APP_SECRET",
        "QUIET_HOURS",
        "LOG_FORMAT",
        "RUST_LOG",
    ] {
        assert!(api.contains(shared) && worker.contains(shared), "{shared}");
    }
    assert!(api.contains("METRICS_ADDR") && worker.contains("METRICS_ADDR"));
    let help: BTreeSet<String> = api.union(&worker).cloned().collect();
    let example = env_example_variables();
    let readme = readme_variables();
    let diff = |a: &BTreeSet<String>, b: &BTreeSet<String>| -> Vec<String> {
        a.difference(b).cloned().collect()
    };
    assert!(
        help == example && help == readme,
        "in --help, not in .env.example: {:?}\nin .env.example, not in --help: {:?}\n\
         in --help, not in README: {:?}\nin README, not in --help: {:?}",
        diff(&help, &example),
        diff(&example, &help),
        diff(&help, &readme),
        diff(&readme, &help),
    );
}

#[test]
fn a_bad_value_stops_either_binary_with_one_line_naming_the_variable() {
    for (bin, args, name, value) in [
        ("fieldwork-api", &[][..], "SESSION_TTL_DAYS", "0"),
        ("fieldwork-api", &["migrate"][..], "LISTEN_ADDR", "nowhere"),
        ("fieldwork-api", &[][..], "LOG_FORMAT", "xml"),
        ("fieldwork-worker", &[][..], "WORKER_CONCURRENCY", "many"),
        (
            "fieldwork-worker",
            &["jobs", "stats"][..],
            "JOB_POLL_ONLY",
            "maybe",
        ),
        ("fieldwork-worker", &[][..], "QUIET_HOURS", "late"),
    ] {
        let out = run(bin, args, &[(name, value)]);
        assert!(!out.status.success(), "{bin} started with {name}={value}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: ") && first.contains(name),
            "{bin} {name}={value}: {stderr}"
        );
    }
    // Checked after parsing: still one line naming the variable, not a panic.
    let out = run("fieldwork-api", &["serve"], &[("APP_SECRET", "short")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.starts_with("Error: APP_SECRET must be") && !stderr.contains("short"),
        "{stderr}"
    );
    let out = run(
        "fieldwork-worker",
        &[],
        &[
            ("DATABASE_URL", "postgres://u@127.0.0.1:1/x"),
            ("APP_SECRET", "short"),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("Error: APP_SECRET must be"), "{stderr}");
}

#[test]
fn help_never_shows_a_secret_even_when_it_is_set() {
    let secrets = [
        ("DATABASE_URL", "postgres://u:hunter2-db@h/d"),
        ("MIGRATE_DATABASE_URL", "postgres://o:hunter2-owner@h/d"),
        ("APP_SECRET", "hunter2-app-secret-0123456789abcdef"),
        ("SMTP_URL", "smtp://u:hunter2-smtp@h:25"),
        ("OPENAI_API_KEY", "sk-hunter2"),
        ("OPS_TOKEN", "hunter2-ops-token-0123"),
    ];
    for bin in ["fieldwork-api", "fieldwork-worker"] {
        let out = run(bin, &["--help"], &secrets);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success());
        assert!(
            !text.contains("hunter2"),
            "{bin} --help shows a secret:\n{text}"
        );
    }
}

#[test]
fn an_empty_variable_counts_as_unset_as_in_env_example() {
    // Parsing succeeds (the empty numbers and addresses are not errors): the binaries get as
    // far as the missing database.
    let out = run(
        "fieldwork-worker",
        &["jobs", "stats"],
        &[("WORKER_BUFFER", ""), ("JOB_RESCUE_INTERVAL_SECS", " ")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("Error: DATABASE_URL is not set"),
        "{stderr}"
    );
    let out = run(
        "fieldwork-api",
        &["serve"],
        &[("PASSWORD_HASH_CONCURRENCY", ""), ("METRICS_ADDR", "")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("Error: DATABASE_URL is not set"),
        "{stderr}"
    );
}

#[test]
fn the_debug_form_of_the_worker_settings_shows_no_secret() {
    use clap::Parser;
    use fieldwork_worker::cli::Cli;

    let cli = Cli::try_parse_from([
        "fieldwork-worker",
        "--database-url",
        "postgres://u:hunter2-db@h/d",
        "--app-secret",
        "hunter2-app-secret-0123456789abcdef",
        "--smtp-url",
        "smtp://u:hunter2-smtp@h:25",
        "--openai-api-key",
        "sk-hunter2",
        "--ops-token",
        "hunter2-ops-token-0123",
    ])
    .unwrap();
    let mut settings = cli.run.settings().unwrap();
    settings.messages = cli.shared.messages.settings("http://x").unwrap();
    for text in [format!("{cli:?}"), format!("{settings:?}")] {
        assert!(!text.contains("hunter2"), "{text}");
    }
    assert_eq!(
        cli.shared.database.database_url().unwrap().expose(),
        "postgres://u:hunter2-db@h/d"
    );
    assert!(!settings.messages.app_secret.is_ephemeral());
}
