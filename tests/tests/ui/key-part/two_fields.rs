use redis_runtime::KeyPart;

#[derive(Debug, Clone, PartialEq, Eq, Hash, KeyPart)]
struct Pair(String, u64);

fn main() {}
