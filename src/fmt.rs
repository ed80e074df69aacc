//! Placeholder: `storm fmt` is being built.
