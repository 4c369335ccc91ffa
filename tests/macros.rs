//! Compile-time behaviour of `#[hub]` and `#[hub_client]`: what compiles, and the message
//! each misuse gets (pinned in `tests/ui/fail/*.stderr`).

#[test]
fn macro_misuse_is_a_clear_compile_error() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
