//! Free text (trimmed, bounded, no characters Postgres `text` cannot store) and phone numbers
//! as people write them.

use super::FieldError;

/// Rejects what Postgres `text` cannot store (NUL) and, unless `multiline`, control
/// characters such as newlines in single-line fields.
fn check_chars(value: &str, multiline: bool) -> Result<(), FieldError> {
    let bad = value
        .chars()
        .any(|c| c == '\0' || (c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'))));
    if bad {
        Err(FieldError::new("contains control characters"))
    } else {
        Ok(())
    }
}

/// Trimmed text between `min` and `max` characters.
pub fn text(value: String, min: usize, max: usize, multiline: bool) -> Result<String, FieldError> {
    check_chars(&value, multiline)?;
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len < min {
        return Err(FieldError::new(if min == 1 {
            "must not be empty".to_owned()
        } else {
            format!("must be at least {min} characters")
        }));
    }
    if len > max {
        return Err(FieldError::new(format!("must be at most {max} characters")));
    }
    Ok(trimmed.to_owned())
}

/// Optional free text: blank becomes absent.
pub fn optional_text(
    value: String,
    max: usize,
    multiline: bool,
) -> Result<Option<String>, FieldError> {
    let t = text(value, 0, max, multiline)?;
    Ok(if t.is_empty() { None } else { Some(t) })
}

/// A phone number as people write it: digits with `+ - ( ) .`, spaces and an `x` extension.
pub fn phone(value: String) -> Result<Option<String>, FieldError> {
    let Some(v) = optional_text(value, 32, false)? else {
        return Ok(None);
    };
    let allowed = v
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().xX".contains(c));
    let digits = v.chars().filter(char::is_ascii_digit).count();
    if !allowed || digits < 3 {
        return Err(FieldError::new(
            "must be a phone number (digits, spaces, + - ( ) .)",
        ));
    }
    Ok(Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rejects_nul_and_bounds_length() {
        assert!(text("a\0b".into(), 1, 10, true).is_err());
        assert!(text("   ".into(), 1, 10, false).is_err());
        assert!(text("abcdefghijk".into(), 1, 10, false).is_err());
        assert_eq!(text(" x ".into(), 1, 10, false).unwrap(), "x");
        assert!(text("a\nb".into(), 1, 10, false).is_err());
        assert!(text("a\nb".into(), 1, 10, true).is_ok());
    }

    #[test]
    fn phone_numbers_need_digits() {
        assert_eq!(
            phone("+1 (555) 010-9999".into()).unwrap().as_deref(),
            Some("+1 (555) 010-9999")
        );
        assert!(phone("call me".into()).is_err());
        assert_eq!(phone("".into()).unwrap(), None);
    }
}
