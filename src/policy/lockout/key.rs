//! The key-policy lockout: after a key policy is written, may the identity that applies still
//! call `kms:PutKeyPolicy` on the key? KMS itself refuses such a policy unless the caller
//! sets `BypassPolicyLockoutSafetyCheck` (which s3ward never does); s3ward refuses it first,
//! with the statement's words, and with `unknown` when a condition or a role path leaves it
//! open.
//!
//! Unlike a bucket policy, a key policy is the only door to its key: nothing is allowed
//! unless a statement allows it (the account root statement delegates to IAM, which is how
//! the default key policy lets the account's administrators in). So this asks for an Allow
//! that surely applies and no Deny that applies.

use super::{Ans, Tri, Undecided, statement_denies};
use crate::policy::document::{Effect, Statement};
use crate::policy::identity::Identity;

/// The action s3ward needs to keep managing a key's policy.
pub const KEY_LOCKOUT_ACTION: &str = "kms:PutKeyPolicy";

/// Would (`Yes`) or might (`Unknown`) a key policy of `statements` lock `who` out of
/// `kms:PutKeyPolicy` on `key_arn`, with the reasons when `Unknown`.
pub fn key_lockout(
    statements: &[Statement],
    who: &Identity,
    key_arn: &str,
) -> (Tri, Vec<Undecided>) {
    let applies = |st: &Statement| {
        let as_deny = Statement {
            effect: Effect::Deny,
            ..st.clone()
        };
        statement_denies(&as_deny, who, KEY_LOCKOUT_ACTION, key_arn)
    };
    let denies: Vec<Ans> = statements
        .iter()
        .filter(|s| s.effect == Effect::Deny)
        .map(applies)
        .collect();
    let allows: Vec<Ans> = statements
        .iter()
        .filter(|s| s.effect == Effect::Allow)
        .map(applies)
        .collect();
    if denies.iter().any(|a| a.t == Tri::Yes) {
        return (Tri::Yes, Vec::new());
    }
    let mut why: Vec<Undecided> = Vec::new();
    let allowed = if allows.iter().any(|a| a.t == Tri::Yes) {
        Tri::Yes
    } else if allows.iter().any(|a| a.t == Tri::Unknown) {
        why.extend(allows.iter().flat_map(|a| a.why.clone()));
        Tri::Unknown
    } else {
        return (Tri::Yes, Vec::new());
    };
    let denied_maybe: Vec<&Ans> = denies.iter().filter(|a| a.t == Tri::Unknown).collect();
    why.extend(denied_maybe.iter().flat_map(|a| a.why.clone()));
    why.sort();
    why.dedup();
    if allowed == Tri::Unknown || !denied_maybe.is_empty() {
        (Tri::Unknown, why)
    } else {
        (Tri::No, Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyDocument;

    const KEY: &str = "arn:aws:kms:us-east-1:111111111111:key/abc";

    fn who() -> Identity {
        Identity::from_caller_arn(
            "111111111111",
            "arn:aws:sts::111111111111:assumed-role/s3ward/session",
        )
    }

    fn verdict(statements: &str) -> Tri {
        let st = PolicyDocument::parse_statements(statements).unwrap();
        key_lockout(&st, &who(), KEY).0
    }

    #[test]
    fn the_default_key_policy_keeps_the_account_in() {
        let root = r#"[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"kms:*","Resource":"*"}]"#;
        assert_eq!(verdict(root), Tri::No);
    }

    #[test]
    fn a_policy_without_the_applier_locks_it_out() {
        let only_other = r#"[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:role/x"},"Action":"kms:Decrypt","Resource":"*"}]"#;
        assert_eq!(verdict(only_other), Tri::Yes);
        assert_eq!(verdict("[]"), Tri::Yes);
        let denied = r#"[{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"kms:*","Resource":"*"},
                         {"Effect":"Deny","Principal":"*","Action":"kms:PutKeyPolicy","Resource":"*"}]"#;
        assert_eq!(verdict(denied), Tri::Yes);
    }

    #[test]
    fn a_condition_it_cannot_decide_is_unknown() {
        let vpce = r#"[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}}]"#;
        assert_eq!(verdict(vpce), Tri::Unknown);
    }
}
