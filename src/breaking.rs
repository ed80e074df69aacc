//! Placeholder: `storm breaking` is being built.
