//! Reading the query string of connection requests.

/// Reads a query parameter by name, ignoring the key's case as the .NET server does.
///
/// ```
/// use signalr_core::endpoint::query_param;
/// assert_eq!(query_param(Some("a=1&ID=x%20y"), "id").as_deref(), Some("x y"));
/// ```
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.into_owned())
}
