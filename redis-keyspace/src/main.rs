//! `redis-keyspace`: keeps the Redis keyspace honest.

fn main() {}
