//! (owned by the edge codec work item)
