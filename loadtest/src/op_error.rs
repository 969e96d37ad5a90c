//! The error every driver returns for one operation, so drivers need not know each other.

/// A failed operation: `kind` is what reports count by.
#[derive(Debug, Clone)]
pub struct OpError {
    pub kind: String,
    pub detail: String,
}

impl OpError {
    pub fn new(kind: &str, err: impl std::fmt::Display) -> Self {
        OpError {
            kind: kind.to_string(),
            detail: err.to_string(),
        }
    }

    pub fn msg(kind: impl Into<String>, detail: impl Into<String>) -> Self {
        OpError {
            kind: kind.into(),
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.detail)
    }
}
