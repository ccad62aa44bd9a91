//! Compile-fail tests of `#[derive(RedisModel)]`: one targeted error per case,
//! in `ui/<category>/<case>.rs` beside the expected `.stderr`.
//!
//! Bless with `TRYBUILD=overwrite cargo test -p tests --test compiletest`, then
//! read the diff.

#[rustversion::attr(not(stable(1.95)), ignore = "UI output is pinned to rustc 1.95")]
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*/*.rs");
}
