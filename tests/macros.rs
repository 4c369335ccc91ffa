//! Compile-time behaviour of `#[hub]` and `#[hub_client]`: what compiles, and the message
//! each misuse gets (pinned in `tests/ui/<macro>/fail/*.stderr`).

#[test]
fn hub_macro_accepts_valid_traits_and_names_each_misuse() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/hub/pass/*.rs");
    cases.compile_fail("tests/ui/hub/fail/*.rs");
}

#[test]
fn hub_client_macro_accepts_valid_traits_and_names_each_misuse() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/hub_client/pass/*.rs");
    cases.compile_fail("tests/ui/hub_client/fail/*.rs");
}
