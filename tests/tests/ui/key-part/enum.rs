use redis_runtime::KeyPart;

#[derive(Debug, Clone, PartialEq, Eq, Hash, KeyPart)]
enum Region {
    Eu,
    Us,
}

fn main() {}
