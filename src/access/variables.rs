//! Policy variables (`${aws:username}`, `${aws:PrincipalTag/team}`, `${s3:prefix}`, and the
//! special `${*}`, `${?}`, `${$}`), replaced in `Resource` and in condition values of a
//! `2012-10-17` document (a `2008-10-17` one reads `${…}` as text). A variable may carry a
//! default: `${aws:username, 'nobody'}`.
//!
//! A key the request does not carry, without a default, makes the element match nothing
//! (IAM: "If the key is not present … the policy variable does not resolve"); a key whose
//! value s3ward does not know makes the answer depend on it.

use super::request::{Context, Lookup};

/// The text with every variable replaced, or why not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Substituted {
    Text(String),
    /// A variable's key is absent (and has no default): the element matches nothing.
    Absent,
    /// A variable's key has a value s3ward does not know.
    Unknown(String),
}

/// Replaces the policy variables of `text`. `${*}`, `${?}` and `${$}` become the characters
/// themselves (a literal `*` in a key is rare enough that matching it as a wildcard is kept).
pub fn substitute(text: &str, ctx: &Context) -> Substituted {
    if !text.contains("${") {
        return Substituted::Text(text.to_string());
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Substituted::Text(out);
        };
        let inner = after[..end].trim();
        rest = &after[end + 1..];
        match inner {
            "*" => out.push('*'),
            "?" => out.push('?'),
            "$" => out.push('$'),
            _ => {
                let (key, default) = match inner.split_once(',') {
                    Some((k, d)) => {
                        let d = d.trim();
                        let d = d
                            .strip_prefix('\'')
                            .and_then(|d| d.strip_suffix('\''))
                            .unwrap_or(d);
                        (k.trim(), Some(d))
                    }
                    None => (inner, None),
                };
                match ctx.lookup(key) {
                    Lookup::Values(v) if v.len() == 1 => out.push_str(&v[0]),
                    // A multivalued key cannot stand in one place: IAM does not resolve it.
                    Lookup::Values(_) | Lookup::Absent => match default {
                        Some(d) => out.push_str(d),
                        None => return Substituted::Absent,
                    },
                    Lookup::Unknown => return Substituted::Unknown(key.to_string()),
                }
            }
        }
    }
    out.push_str(rest);
    Substituted::Text(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_known_keys_and_defaults() {
        let mut ctx = Context::default();
        ctx.set("aws:username", &["alice"]);
        ctx.absent("aws:PrincipalTag/team");
        assert_eq!(
            substitute("arn:aws:s3:::b/home/${aws:username}/*", &ctx),
            Substituted::Text("arn:aws:s3:::b/home/alice/*".into())
        );
        assert_eq!(
            substitute("${aws:PrincipalTag/team, 'none'}", &ctx),
            Substituted::Text("none".into())
        );
        assert_eq!(
            substitute("${aws:PrincipalTag/team}", &ctx),
            Substituted::Absent
        );
        assert_eq!(
            substitute("${aws:SourceVpce}", &ctx),
            Substituted::Unknown("aws:SourceVpce".into())
        );
        assert_eq!(
            substitute("a${*}b${$}", &ctx),
            Substituted::Text("a*b$".into())
        );
    }
}
