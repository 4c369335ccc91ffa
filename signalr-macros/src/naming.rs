//! The wire-name rule: a Rust `snake_case` method name becomes .NET `PascalCase`.

/// `send_message` → `SendMessage`; `get_2nd` → `Get2nd`.
pub(crate) fn pascal_case(ident: &str) -> String {
    let ident = ident.strip_prefix("r#").unwrap_or(ident);
    let mut out = String::with_capacity(ident.len());
    let mut upper_next = true;
    for ch in ident.chars() {
        if ch == '_' {
            upper_next = true;
        } else if upper_next {
            out.extend(ch.to_uppercase());
            upper_next = false;
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::pascal_case;

    #[test]
    fn snake_case_becomes_pascal_case() {
        assert_eq!(pascal_case("send_message"), "SendMessage");
        assert_eq!(pascal_case("echo"), "Echo");
        assert_eq!(pascal_case("r#type"), "Type");
        assert_eq!(pascal_case("get_2nd_value"), "Get2ndValue");
    }
}
