//! label (in progress).
