//! `Checker`, which collects every field's error while a whole input is parsed (so a client
//! sees all problems at once), and `FieldError`, why one field was rejected.

use super::Patch;
use crate::error::{Error, FieldErrors, Result};

/// Collects field errors while a whole input is parsed, so a client sees every problem at once.
#[derive(Debug, Default)]
pub struct Checker {
    errors: FieldErrors,
}

impl Checker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the error of `result` under `field` and returns the value when there is one.
    pub fn check<T>(&mut self, field: &str, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.entry(field.to_owned()).or_insert(e.0);
                None
            }
        }
    }

    /// An optional input: `None` stays `None`; `parse` may also turn a value into `None`
    /// (a blank string, say). On error the error is recorded and `None` returned.
    pub fn check_opt<T, U>(
        &mut self,
        field: &str,
        value: Option<U>,
        parse: impl FnOnce(U) -> Result<Option<T>, FieldError>,
    ) -> Option<T> {
        value.and_then(|v| self.check(field, parse(v)).flatten())
    }

    /// A partial update of a nullable field: absent keeps `current`, null clears it.
    pub fn patch_nullable<T, U>(
        &mut self,
        field: &str,
        patch: Patch<U>,
        current: Option<T>,
        parse: impl FnOnce(U) -> Result<Option<T>, FieldError>,
    ) -> Option<T> {
        match patch {
            Patch::Absent => current,
            Patch::Null => None,
            Patch::Value(v) => self.check(field, parse(v)).flatten(),
        }
    }

    /// A partial update of a required field: absent keeps `current`, null is an error.
    /// On error the error is recorded and `current` returned (the input is rejected anyway).
    pub fn patch_required<T, U>(
        &mut self,
        field: &str,
        patch: Patch<U>,
        current: T,
        parse: impl FnOnce(U) -> Result<T, FieldError>,
    ) -> T {
        let parsed = match patch {
            Patch::Absent => return current,
            Patch::Null => Err(FieldError::new("cannot be null")),
            Patch::Value(v) => parse(v),
        };
        self.check(field, parsed).unwrap_or(current)
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.errors
            .entry(field.to_owned())
            .or_insert_with(|| message.into());
    }

    /// `Ok(())` when nothing was recorded.
    pub fn finish(self) -> Result<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self.errors))
        }
    }
}

/// Why one field was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError(pub String);

impl FieldError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
