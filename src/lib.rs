//! storm turns an event-storming model into checked code, contracts and routing.
//!
//! The pipeline, one module a stage (see README.md, "Architecture"):
//! text ([`source`], [`loader`]) → syntax tree ([`syntax`], [`ast`]) → resolved
//! model ([`resolve`], [`model`]) → graph and checks ([`graph`], [`checks`]) →
//! generated files ([`generate`], [`docs`], [`diagram`]) → written or printed
//! ([`cli`], the only module that touches the file system).

pub mod analysis;
pub mod ast;
pub mod breaking;
pub mod checks;
pub mod cli;
pub mod config;
pub mod diagnostic;
pub mod diagram;
pub mod docs;
pub mod fmt;
pub mod generate;
pub mod graph;
pub mod init;
pub mod keys;
pub mod loader;
pub mod model;
pub mod names;
pub mod ownership;
pub mod parallel;
pub mod render;
pub mod resolve;
pub mod routing;
pub mod rust_target;
pub mod schemas;
pub mod source;
pub mod stamp;
pub mod syntax;
pub mod timings;
pub mod watch;
pub mod wire;
pub mod writer;
