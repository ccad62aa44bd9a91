//! The `redis-runtime` command-line tool (package `redis-runtime-cli`): it
//! keeps the Redis keyspace honest.
//!
//! - [`audit`], the raw-access audit: it counts every place in a Rust source
//!   tree that talks to Redis without going through `redis-runtime` (the
//!   "violations" count that CI holds at zero);
//! - [`doctor`], which compares a live server with a key manifest;
//! - [`infer`], which suggests declarations for a keyspace that already
//!   exists, from a sample of a live server;
//! - [`cmd`], one module per subcommand (`audit`, `manifest`, `acl`,
//!   `doctor`, `infer`), with [`output`]'s one format option and one set of exit codes.

#![warn(missing_docs)]

pub mod audit;
pub mod cmd;
pub mod doctor;
pub mod infer;
pub mod output;
