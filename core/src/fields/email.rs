//! Email addresses: the one normal form every stored or looked-up email takes
//! ([`normalize_email`]), and the validated [`Email`] newtype.

use std::fmt;

use serde::Serialize;

use super::FieldError;

/// A syntactically valid email address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Email(String);

/// Longest email address accepted anywhere (RFC 5321's path limit).
pub const EMAIL_MAX_BYTES: usize = 254;

/// The one definition of an email's normal form, used wherever an email is stored or looked
/// up (registration, login, the login throttle): trimmed, at most [`EMAIL_MAX_BYTES`], printable
/// ASCII only, ASCII lower case. `None` for anything else. Unicode case mapping is deliberately
/// avoided: it differs between Rust and PostgreSQL (`lower('İ')` is `i` in PostgreSQL) and would
/// let two different strings reach one account.
pub fn normalize_email(value: &str) -> Option<String> {
    let v = value.trim();
    (!v.is_empty() && v.len() <= EMAIL_MAX_BYTES && v.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| v.to_ascii_lowercase())
}

impl Email {
    pub fn parse(value: &str) -> Result<Email, FieldError> {
        let invalid = || FieldError::new("must be a valid email address");
        let v = normalize_email(value).ok_or_else(invalid)?;
        let (local, domain) = v.split_once('@').ok_or_else(invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
        if local_ok && domain_ok {
            Ok(Email(v))
        } else {
            Err(invalid())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_lowercased_and_checked() {
        assert_eq!(
            Email::parse("  Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
        for bad in [
            "", "a", "a@", "@b.co", "a@b", "a b@c.de", "a@b..de", "a@-b.de", "a@b.c0",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_normal_form_is_ascii_only_and_cased_the_same_in_rust_and_postgres() {
        assert_eq!(normalize_email(" A@B.io ").as_deref(), Some("a@b.io"));
        for lookalike in [
            "alİce@b.io",
            "\u{212A}@b.io",
            "a\0@b.io",
            "a\t@b.io",
            "a b@c.io",
        ] {
            assert_eq!(normalize_email(lookalike), None, "{lookalike:?}");
        }
        assert_eq!(normalize_email(&"a".repeat(EMAIL_MAX_BYTES + 1)), None);
    }
}
