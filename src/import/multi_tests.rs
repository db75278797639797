//! Import of several accounts in one run, and the bucket policy's mode: a grant from a bucket
//! of one account to a role of another comes back as a grant, and a policy that a plan of
//! this name owned in `merge` mode beside someone else's statements comes back in `merge`
//! mode (the foreign statements left alone), unless `merge` would change it.

use super::tests::{doc, import_clean, live_of, resolve};
use super::*;
use crate::desired::PolicyMode;

const STORAGE: &str = "111111111111";
const COMPUTE: &str = "222222222222";

/// A bucket in one account granting read to a role of another, in `merge` mode.
const CROSS: &str = r#"version = 1

[settings]
name = "ml-models"
region = "us-east-1"

[accounts.storage]
id = "111111111111"

[accounts.compute]
id = "222222222222"

[roles.ray]
account = "compute"
name = "ray-nodes"
trust = [{ service = "ec2.amazonaws.com" }]

[buckets.models]
account = "storage"
name = "acme-ml-models"
policy_mode = "merge"

[[buckets.models.grants]]
to = "role.ray"
access = "read"
prefixes = ["llama/"]
"#;

/// A colleague's statement, written by hand.
const FOREIGN: &str = r#"{"Sid":"ColleagueAuditRead","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::333333333333:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-ml-models/audit/*"}"#;

fn account(id: &str) -> AccountIn {
    AccountIn {
        key: None,
        id: id.into(),
        assume_role: None,
        external_id: None,
        identity: None,
    }
}

/// The live state an apply of `CROSS` leaves, the colleague's statement added to the bucket
/// policy (edited by `edit` first), as two accounts: the bucket in the first, the role in
/// the second.
fn two_accounts(plan_name: &str, edit: impl Fn(String) -> String) -> Input {
    let desired = resolve(CROSS);
    let (mut buckets, mut roles) = live_of(&desired);
    let policy = buckets[0].live.policy.present().unwrap().text.clone();
    let policy = edit(policy.replacen("\"Statement\":[", &format!("\"Statement\":[{FOREIGN},"), 1));
    assert!(policy.contains("ColleagueAuditRead"), "{policy}");
    buckets[0].live.policy = Setting::Present(doc(&policy));
    roles[0].account = 1;
    Input {
        plan_name: plan_name.into(),
        accounts: vec![account(STORAGE), account(COMPUTE)],
        buckets,
        roles,
        keys: Vec::new(),
    }
}

#[test]
fn a_grant_to_a_role_of_another_account_comes_back_as_a_grant_in_merge_mode() {
    let (imported, desired) = import_clean(&two_accounts("ml-models", |p| p));
    let text = &imported.text;
    assert!(
        text.contains("[accounts.main]\nid = \"111111111111\""),
        "{text}"
    );
    assert!(
        text.contains("[accounts.account-2222]\nid = \"222222222222\""),
        "{text}"
    );
    assert!(
        text.contains("[roles.ray]\naccount = \"account-2222\""),
        "{text}"
    );
    assert!(text.contains("policy_mode = \"merge\""), "{text}");
    assert!(!text.contains("extra_policy_statements = "), "{text}");
    assert!(!text.contains("ColleagueAuditRead"), "{text}");
    let b = &desired.buckets["models"];
    assert_eq!(b.policy_mode, PolicyMode::Merge);
    assert_eq!(b.account, "main");
    assert_eq!(b.grants.len(), 1);
    assert_eq!(
        b.grants[0].principal,
        "arn:aws:iam::222222222222:role/ray-nodes"
    );
    assert_eq!(b.grants[0].prefixes, vec!["llama/".to_string()]);
}

#[test]
fn merge_sids_of_another_plan_name_keep_the_policy_authoritative() {
    // `--name` is not the plan's: its `merge` prefix owns none of the statements, so the
    // whole policy stays, verbatim, authoritatively; the role's grants become raw too.
    let input = two_accounts("other", |p| p);
    let imported = import(&input);
    assert!(
        imported.text.contains("policy_mode = \"authoritative\""),
        "{}",
        imported.text
    );
    assert!(
        imported.text.contains("ColleagueAuditRead"),
        "{}",
        imported.text
    );
    assert!(!imported.text.contains("policy_mode = \"merge\""));
}

#[test]
fn an_edited_merge_statement_falls_back_to_authoritative() {
    // Someone widened the grant's object statement by hand: `merge` would write it back.
    let input = two_accounts("ml-models", |p| {
        p.replace(
            "arn:aws:s3:::acme-ml-models/llama/*",
            "arn:aws:s3:::acme-ml-models/*",
        )
    });
    let imported = import(&input);
    assert!(imported.invalid.is_none());
    let text = &imported.text;
    assert!(text.contains("policy_mode = \"authoritative\""), "{text}");
    assert!(text.contains("ColleagueAuditRead"), "{text}");
    assert!(text.contains("s3wardmlmodelsReadRoleRayObjects"), "{text}");
    assert!(!text.contains("[[buckets.models.grants]]"), "{text}");
}

#[test]
fn a_given_account_key_wins_over_a_default_one() {
    let mut input = two_accounts("ml-models", |p| p);
    input.accounts[1].key = Some("main".into());
    let (imported, _) = import_clean(&input);
    let text = &imported.text;
    assert!(
        text.contains("[accounts.main-2]\nid = \"111111111111\""),
        "{text}"
    );
    assert!(
        text.contains("[accounts.main]\nid = \"222222222222\""),
        "{text}"
    );
}
