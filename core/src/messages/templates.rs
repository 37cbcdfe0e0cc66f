//! The email templates (`templates/email/`), embedded at compile time so both binaries are
//! self-contained, and the one minijinja environment that renders them: strict undefined
//! variables (a typo fails the render and its test instead of sending a blank), HTML escaping
//! for `.html` templates, trimmed block tags.

use std::sync::OnceLock;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, Output, State, UndefinedBehavior, escape_formatter};

use super::MessageType;
use crate::error::{Error, Result};

macro_rules! email_template {
    ($path:literal) => {
        (
            concat!("email/", $path),
            include_str!(concat!("../../../templates/email/", $path)),
        )
    };
    ($name:literal, $file:literal) => {
        (
            concat!("email/", $name, "/", $file),
            include_str!(concat!("../../../templates/email/", $name, "/", $file)),
        )
    };
}

macro_rules! email_type {
    ($name:literal) => {
        [
            email_template!($name, "subject.txt"),
            email_template!($name, "body.txt"),
            email_template!($name, "body.html"),
        ]
    };
}

/// The shared layouts every body extends.
const LAYOUTS: [(&str, &str); 2] = [
    email_template!("layout.txt"),
    email_template!("layout.html"),
];

/// Pages the API serves to customers (not emails).
const WEB: [(&str, &str); 1] = [(
    "web/unsubscribe.html",
    include_str!("../../../templates/web/unsubscribe.html"),
)];

/// Subject, text and HTML body of each type. Adding a message type adds its line here (a test
/// checks each type has its three, and that every file on disk is embedded).
const TEMPLATES: &[[(&str, &str); 3]] = &[
    email_type!("appointment_confirmation"),
    email_type!("appointment_reminder"),
    email_type!("appointment_cancellation"),
    email_type!("service_reminder"),
    email_type!("payment_reminder"),
    email_type!("invoice"),
    email_type!("custom"),
];

/// The three templates of a message type.
pub(super) struct TypeTemplates {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub(super) fn names(message_type: MessageType) -> TypeTemplates {
    let t = message_type.as_str();
    TypeTemplates {
        subject: format!("email/{t}/subject.txt"),
        text: format!("email/{t}/body.txt"),
        html: format!("email/{t}/body.html"),
    }
}

/// The environment, built on first use. A template that does not compile is a build defect
/// that the template tests catch; at run time it surfaces as a render error.
pub(super) fn environment() -> Result<&'static Environment<'static>> {
    static ENV: OnceLock<std::result::Result<Environment<'static>, String>> = OnceLock::new();
    ENV.get_or_init(build)
        .as_ref()
        .map_err(|e| Error::Internal(format!("email templates: {e}")))
}

fn build() -> std::result::Result<Environment<'static>, String> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
        .map_err(|e| e.to_string())?;
    env.set_syntax(syntax);
    env.set_formatter(formatter);
    env.add_filter("paragraphs", paragraphs);
    for (name, source) in LAYOUTS
        .iter()
        .chain(WEB.iter())
        .chain(TEMPLATES.iter().flatten())
    {
        env.add_template(name, source)
            .map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(env)
}

/// Renders one of the web pages with `context`.
pub(super) fn render_web(name: &str, context: serde_json::Value) -> Result<String> {
    environment()?
        .get_template(name)
        .and_then(|t| t.render(Value::from(minijinja::value::Serde(context))))
        .map_err(|e| Error::Internal(format!("rendering {name}: {e}")))
}

/// Escapes what HTML needs escaped (`& < > " '`) and nothing more: minijinja's default also
/// escapes `/`, which makes every URL and zone name (`Europe&#x2f;Berlin`) harder to read in
/// the source of an email and to check in tests.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn formatter(out: &mut Output, state: &mut State, value: &Value) -> Result<(), minijinja::Error> {
    if matches!(state.auto_escape(), AutoEscape::Html)
        && !value.is_safe()
        && let Some(text) = value.as_str()
    {
        return out.write_str(&escape_html(text)).map_err(|_| {
            minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "cannot write output")
        });
    }
    escape_formatter(out, state, value)
}

/// Plain text as HTML: escaped, blank lines separate paragraphs, single newlines break lines.
/// For text the business typed (custom messages), never trusted as markup.
fn paragraphs(text: &str) -> Value {
    let html: Vec<String> = text
        .replace("\r\n", "\n")
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let lines: Vec<String> = p.lines().map(escape_html).collect();
            format!("<p>{}</p>", lines.join("<br>\n"))
        })
        .collect();
    Value::from_safe_string(html.join("\n"))
}

/// Every embedded template name (tests).
#[cfg(test)]
pub fn template_names() -> Vec<&'static str> {
    LAYOUTS
        .iter()
        .chain(TEMPLATES.iter().flatten())
        .map(|(n, _)| *n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_type_has_subject_text_and_html_and_every_file_is_embedded() {
        let embedded = template_names();
        for t in MessageType::ALL {
            let n = names(*t);
            for name in [&n.subject, &n.text, &n.html] {
                assert!(embedded.contains(&name.as_str()), "{name} is not embedded");
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates/email");
        let mut on_disk = Vec::new();
        for entry in std::fs::read_dir(&root).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                for file in std::fs::read_dir(&path).unwrap() {
                    let file = file.unwrap().path();
                    on_disk.push(format!(
                        "email/{}/{}",
                        path.file_name().unwrap().to_string_lossy(),
                        file.file_name().unwrap().to_string_lossy()
                    ));
                }
            } else {
                on_disk.push(format!(
                    "email/{}",
                    path.file_name().unwrap().to_string_lossy()
                ));
            }
        }
        for name in on_disk {
            assert!(
                embedded.contains(&name.as_str()),
                "{name} is on disk but not embedded"
            );
        }
        assert!(environment().is_ok());
    }

    #[test]
    fn typed_text_becomes_escaped_paragraphs() {
        let v = paragraphs("Hi <b>you</b>\nsecond line\n\nnew & para");
        assert_eq!(
            v.to_string(),
            "<p>Hi &lt;b&gt;you&lt;/b&gt;<br>\nsecond line</p>\n<p>new &amp; para</p>"
        );
    }
}
