//! SigV4 verification as pure functions (owned by the sigv4 work item).
