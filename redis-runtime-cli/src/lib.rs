//! Keeps the Redis keyspace honest.
//!
//! This crate (`redis-runtime-cli`) holds the logic of the `redis-runtime`
//! command-line tool:
//!
//! - [`audit`], the raw-access audit: it counts every place in a Rust source
//!   tree that talks to Redis without going through `redis-runtime` (the
//!   "violations" count that CI holds at zero);
//! - [`live`], the commands that work from a key manifest: `manifest`, `acl`
//!   and `doctor`.

#![warn(missing_docs)]

pub mod audit;
pub mod live;
