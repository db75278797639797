//! Wildcard matching as IAM does it: actions case-insensitively, resources and ARN condition
//! values case-sensitively, `*` any run of characters and `?` one character; ARNs compared
//! component by component (a `*` in `ArnLike` does not cross a `:`); principals only by the
//! whole `*` (IAM refuses partial wildcards in `Principal`, so `arn:aws:iam::1:role/*`
//! matches no one).
//!
//! The character matcher is the one the self-lockout check already uses
//! ([`crate::policy::lockout::wildcard_match`]); this file adds what evaluation needs on top.

pub use crate::policy::lockout::wildcard_match;

/// `Action`/`NotAction` entry against an action (`s3:GetObject`): case-insensitive.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    wildcard_match(pattern, action, true)
}

/// `Resource`/`NotResource` entry against a resource ARN: case-sensitive.
pub fn resource_matches(pattern: &str, resource: &str) -> bool {
    wildcard_match(pattern, resource, false)
}

/// `ArnLike`/`ArnEquals` (which IAM treats alike): each of the six `:`-separated components
/// matched on its own; the resource part keeps its colons.
pub fn arn_matches(pattern: &str, arn: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    if a.len() != 6 {
        // Not an ARN: IAM compares the strings.
        return wildcard_match(pattern, arn, false);
    }
    if p.len() != 6 {
        // Fewer components than an ARN has: no component-wise match is possible.
        return false;
    }
    p.iter().zip(&a).all(|(p, a)| wildcard_match(p, a, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_ignore_case_resources_do_not() {
        assert!(action_matches("S3:get*", "s3:GetObject"));
        assert!(action_matches("s3:Get?bject", "s3:GetObject"));
        assert!(!action_matches("s3:Put*", "s3:GetObject"));
        assert!(resource_matches("arn:aws:s3:::b/*", "arn:aws:s3:::b/a/b"));
        assert!(!resource_matches("arn:aws:s3:::B/*", "arn:aws:s3:::b/a"));
    }

    #[test]
    fn arn_wildcards_stay_in_their_component() {
        assert!(arn_matches(
            "arn:aws:iam::*:role/x",
            "arn:aws:iam::111111111111:role/x"
        ));
        assert!(!arn_matches(
            "arn:aws:iam::*",
            "arn:aws:iam::111111111111:role/x"
        ));
        assert!(arn_matches(
            "arn:aws:iam::111111111111:role/*",
            "arn:aws:iam::111111111111:role/a/b"
        ));
    }
}
