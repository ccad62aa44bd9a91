//! Compile-fail tests of `#[derive(RedisModel)]`: one targeted error per case,
//! in `ui/<category>/<case>.rs` beside the expected `.stderr`.
//!
//! Bless with `TRYBUILD=overwrite cargo test -p tests --test compiletest`, then
//! read the diff.

#[rustversion::stable(1.95)]
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*/*.rs");
}

/// On any other toolchain the expected output would not match, so the suite
/// does not run; this test says so in the results instead of a silent skip.
#[rustversion::not(stable(1.95))]
#[test]
#[ignore = "the compile-fail suite did NOT run: its output is pinned to rustc 1.95 (run it with `cargo +1.95 test -p tests --test compiletest`)"]
fn ui_did_not_run_on_this_toolchain() {
    panic!("the compile-fail suite is pinned to rustc 1.95");
}
