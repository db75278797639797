//! Plan-file text that several test files build on: the account headers and the policy
//! ARNs they name. Only text — no AWS calls, no files written (that is [`super::fixtures`]
//! and [`super::cli::PlanDir`]).
//!
//! A body used by one test file alone stays in that file, next to the tests that read it;
//! what moves here is what was copied, byte for byte, between files.

/// The AWS managed policy that the plan tests attach to roles.
pub const S3_READ_ONLY: &str = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";

/// `[accounts.main]`: the ambient account (`123456789012`), no AssumeRole.
pub const AMBIENT_MAIN: &str = r#"version = 1

[accounts.main]
id = "123456789012"
"#;

/// `[accounts.main]` for account `id`, reached through AssumeRole of its `s3ward` role.
pub fn main_account(id: &str) -> String {
    format!(
        "version = 1\n\n[accounts.main]\nid = \"{id}\"\nassume_role = \"arn:aws:iam::{id}:role/s3ward\"\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ambient_header_is_main_account_without_assume_role() {
        assert!(AMBIENT_MAIN.contains(super::super::AMBIENT_ACCOUNT));
        let header = main_account(super::super::AMBIENT_ACCOUNT);
        assert!(header.starts_with(AMBIENT_MAIN), "{header}");
    }
}
