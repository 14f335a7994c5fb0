//! The user's-fault error every parser returns: it names the field and the reason.

/// A value that failed to parse. `field` is the input's name as the caller knows it
/// (a JSON field, a CSV column, a GeoJSON property), `reason` says what is wrong in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Invalid {
    pub field: String,
    pub reason: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Invalid { field: field.into(), reason: reason.into() }
    }
}
