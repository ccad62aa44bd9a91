use redis_runtime::KeyPart;

#[derive(Debug, Clone, PartialEq, Eq, Hash, KeyPart)]
struct Digest(Vec<u8>);

fn main() {}
