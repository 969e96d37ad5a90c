//! Request payload decoding and verification (owned by the payload work item).
