//! Unit tests of the diff: desired documents from real plan-file text, live states built by
//! hand.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::role::desired_inline;
use super::*;
use crate::applied::{DriftKind, tag_value as render_digests};
use crate::change::Action;
use crate::desired::{GRANTS_POLICY_NAME, ObjectOwnership};
use crate::state::{AclGrant, LiveAcl, LiveBucket, LiveRole, Setting};

fn parse_digests(tag: &str) -> BTreeMap<String, String> {
    Recorded::parse(Some(tag)).digests().clone()
}

const PLAN: &str = r#"version = 1
[accounts.storage]
id = "111111111111"
[accounts.compute]
id = "222222222222"

[roles.ray]
account = "compute"
trust = [{ service = "ec2.amazonaws.com" }]
managed_policies = ["arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"]

[buckets.models]
account = "storage"
name = "acme-models"
object_ownership = "BucketOwnerEnforced"
block_public_access = true
tags = { team = "ml" }

[[buckets.models.grants]]
to = "role.ray"
access = "read"
prefixes = ["m/"]
"#;

pub(super) fn desired(text: &str) -> Desired {
    crate::plan_file::parse(Path::new("t.toml"), text, Default::default())
        .unwrap()
        .desired
}

fn doc(d: &PolicyDocument) -> LiveDocument {
    LiveDocument::from_text(&d.to_json())
}

/// A live state equal to what `d` asks for, with the applied tags s3ward would have written.
pub(super) fn in_sync(d: &Desired) -> Live {
    let mut live = Live::default();
    for (k, b) in &d.buckets {
        let mut tags = b.tags.clone();
        tags.insert(APPLIED_TAG.into(), render_digests(&bucket_digests(b, None)));
        live.buckets.insert(
            k.clone(),
            LiveBucket {
                exists: true,
                policy: match b.policy_document() {
                    Some(p) => Setting::Present(doc(&p)),
                    None => Setting::Absent,
                },
                acl: Setting::Present(LiveAcl {
                    owner: "owner".into(),
                    grants: vec![AclGrant {
                        grantee: "CanonicalUser:owner".into(),
                        permission: "FULL_CONTROL".into(),
                    }],
                }),
                ownership: b.ownership.map_or(Setting::NotRead, Setting::Present),
                public_access_block: b
                    .public_access_block
                    .map_or(Setting::NotRead, Setting::Present),
                tags: Setting::Present(tags),
                encryption: b
                    .encryption
                    .clone()
                    .map_or(Setting::NotRead, Setting::Present),
            },
        );
    }
    for (k, r) in &d.roles {
        let mut tags = r.tags.clone();
        tags.insert(APPLIED_TAG.into(), render_digests(&role_digests(r, None)));
        live.roles.insert(
            k.clone(),
            LiveRole {
                exists: true,
                arn: r.arn(),
                path: r.path_or_default().into(),
                description: r.description.clone(),
                max_session_duration: r.max_session_duration,
                tags,
                trust: Some(doc(&r.trust)),
                attached_unmanaged: BTreeSet::new(),
                managed: r
                    .managed_policies
                    .clone()
                    .map_or(Setting::NotRead, Setting::Present),
                inline: desired_inline(r)
                    .into_iter()
                    .map(|(n, d)| (n, doc(d)))
                    .collect(),
                inline_complete: false,
            },
        );
    }
    live
}

fn addresses(cs: &ChangeSet) -> Vec<(String, Action)> {
    cs.changes
        .iter()
        .map(|c| (c.address.to_string(), c.action))
        .collect()
}

#[test]
fn in_sync_means_no_changes() {
    let d = desired(PLAN);
    let cs = diff(&d, &in_sync(&d), &Context::default());
    assert!(cs.is_empty(), "{:?}", addresses(&cs));
    assert!(cs.problems.is_empty() && cs.warnings.is_empty());
    assert!(cs.applied.is_empty(), "no change, no new record");
}

#[test]
fn absent_resources_are_created_with_their_settings() {
    let d = desired(PLAN);
    let mut live = Live::default();
    live.buckets.insert("models".into(), LiveBucket::absent());
    live.roles.insert("ray".into(), LiveRole::absent());
    let cs = diff(&d, &live, &Context::default());
    assert_eq!(
        addresses(&cs),
        vec![
            ("bucket.models".into(), Action::Create),
            ("bucket.models.policy".into(), Action::Create),
            ("bucket.models.public_access_block".into(), Action::Create),
            ("bucket.models.tags".into(), Action::Create),
            ("role.ray".into(), Action::Create),
            (
                "role.ray.inline_policy[\"s3ward-grants\"]".into(),
                Action::Create
            ),
            (
                "role.ray.managed_policy[\"arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy\"]"
                    .into(),
                Action::Create
            ),
        ]
    );
    // Ownership is set by CreateBucket itself.
    assert!(matches!(
        cs.changes[0].write,
        Write::CreateBucket {
            ownership: Some(ObjectOwnership::BucketOwnerEnforced),
            ..
        }
    ));
    assert_eq!(cs.applied.len(), 2);
}

#[test]
fn create_false_on_a_missing_bucket_is_a_problem() {
    let d = desired(&PLAN.replace(
        "name = \"acme-models\"",
        "name = \"acme-models\"\ncreate = false",
    ));
    let mut live = in_sync(&d);
    live.buckets.insert("models".into(), LiveBucket::absent());
    let cs = diff(&d, &live, &Context::default());
    assert!(cs.changes.is_empty());
    assert_eq!(cs.problems.len(), 1);
    assert!(cs.problems[0].message.contains("create = false"));
}

#[test]
fn foreign_acl_grants_are_access_that_will_be_removed() {
    let d = desired(PLAN);
    let mut live = in_sync(&d);
    let b = live.buckets.get_mut("models").unwrap();
    if let Setting::Present(acl) = &mut b.acl {
        acl.grants.push(AclGrant {
            grantee: "CanonicalUser:someone-else".into(),
            permission: "READ".into(),
        });
    }
    let cs = diff(&d, &live, &Context::default());
    assert_eq!(
        addresses(&cs),
        vec![("bucket.models.acl".into(), Action::Update)]
    );
    assert_eq!(
        cs.changes[0].write,
        Write::ResetBucketAcl {
            bucket: "acme-models".into()
        }
    );
    assert!(cs.changes[0].notes[0].contains("READ for CanonicalUser:someone-else"));
}

#[test]
fn managed_policy_modes() {
    let d = desired(PLAN);
    let mut live = in_sync(&d);
    let extra = "arn:aws:iam::aws:policy/AmazonS3FullAccess".to_string();
    if let Setting::Present(set) = &mut live.roles.get_mut("ray").unwrap().managed {
        set.insert(extra.clone());
    }
    let cs = diff(&d, &live, &Context::default());
    assert_eq!(
        addresses(&cs),
        vec![(
            format!("role.ray.managed_policy[\"{extra}\"]"),
            Action::Delete
        )]
    );
    assert_eq!(cs.changes[0].kind, DriftKind::Drift);
    let additive = desired(&PLAN.replace(
        "managed_policies = [",
        "managed_policies_mode = \"additive\"\nmanaged_policies = [",
    ));
    let cs = diff(&additive, &live, &Context::default());
    assert!(cs.is_empty(), "{:?}", addresses(&cs));
}

#[test]
fn grants_policy_is_removed_when_no_grant_names_the_role() {
    let without = desired(&PLAN[..PLAN.find("[[buckets.models.grants]]").unwrap()]);
    let live = in_sync(&desired(PLAN));
    let cs = diff(&without, &live, &Context::default());
    let a = addresses(&cs);
    assert!(
        a.contains(&(
            "role.ray.inline_policy[\"s3ward-grants\"]".into(),
            Action::Delete
        )),
        "{a:?}"
    );
    // No statements left: the bucket policy goes too (authoritative mode).
    assert!(
        a.contains(&("bucket.models.policy".into(), Action::Delete)),
        "{a:?}"
    );
    let del = cs
        .changes
        .iter()
        .find(|c| c.address.to_string() == "bucket.models.policy")
        .unwrap();
    assert_eq!(
        del.write,
        Write::DeleteBucketPolicy {
            bucket: "acme-models".into(),
            merge: None,
        }
    );
}

#[test]
fn merge_mode_keeps_foreign_statements() {
    let d = desired(&PLAN.replace(
        "tags = { team = \"ml\" }",
        "tags = { team = \"ml\" }\npolicy_mode = \"merge\"",
    ));
    let mut live = in_sync(&d);
    let foreign = r#"{"Sid":"Vendor","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::333333333333:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-models/v/*"}"#;
    let mut statements: Vec<Statement> =
        PolicyDocument::parse_statements(&format!("[{foreign}]")).unwrap();
    statements.extend(d.buckets["models"].policy_statements.iter().cloned());
    live.buckets.get_mut("models").unwrap().policy =
        Setting::Present(doc(&PolicyDocument::new(statements.clone())));
    // In sync: the foreign statement is not s3ward's business.
    let cs = diff(&d, &live, &Context::default());
    assert!(cs.is_empty(), "{:?}", addresses(&cs));
    // Drop one of s3ward's statements: the write restores it and keeps the foreign one.
    statements.pop();
    live.buckets.get_mut("models").unwrap().policy =
        Setting::Present(doc(&PolicyDocument::new(statements)));
    let cs = diff(&d, &live, &Context::default());
    assert_eq!(
        addresses(&cs),
        vec![("bucket.models.policy".into(), Action::Update)]
    );
    let Write::PutBucketPolicy { policy, .. } = &cs.changes[0].write else {
        panic!("not a put")
    };
    assert!(policy.contains("\"Vendor\""), "{policy}");
    assert!(
        cs.changes[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("1 statement not owned by s3ward is kept")
    );
}

#[test]
fn an_unparseable_live_policy() {
    let d = desired(PLAN);
    let mut live = in_sync(&d);
    live.buckets.get_mut("models").unwrap().policy =
        Setting::Present(LiveDocument::from_text("{nope"));
    let cs = diff(&d, &live, &Context::default());
    assert_eq!(
        addresses(&cs),
        vec![("bucket.models.policy".into(), Action::Update)]
    );
    assert_eq!(cs.warnings.len(), 1);
    let merge = desired(&PLAN.replace(
        "tags = { team = \"ml\" }",
        "tags = { team = \"ml\" }\npolicy_mode = \"merge\"",
    ));
    let cs = diff(&merge, &live, &Context::default());
    assert!(cs.changes.is_empty());
    assert_eq!(cs.problems.len(), 1);
}

#[test]
fn deleted_identities_are_flagged() {
    let d = desired(PLAN);
    let mut live = in_sync(&d);
    let text = d.buckets["models"]
        .policy_document()
        .unwrap()
        .to_json()
        .replace(
            "arn:aws:iam::222222222222:role/ray",
            "AROA3X42LBCD50JYWQ97C",
        );
    live.buckets.get_mut("models").unwrap().policy =
        Setting::Present(LiveDocument::from_text(&text));
    let cs = diff(&d, &live, &Context::default());
    assert_eq!(cs.changes.len(), 1);
    assert!(
        cs.changes[0]
            .notes
            .iter()
            .any(|n| n.contains("`AROA3X42LBCD50JYWQ97C` is a deleted identity"))
    );
}

#[test]
fn drift_versus_pending() {
    let d = desired(PLAN);
    let mut live = in_sync(&d);
    // AWS changed: ownership flipped behind s3ward's back.
    live.buckets.get_mut("models").unwrap().ownership =
        Setting::Present(ObjectOwnership::ObjectWriter);
    // The plan changed: a tag s3ward never applied.
    let changed = desired(&PLAN.replace(
        "tags = { team = \"ml\" }",
        "tags = { team = \"ml\", cost = \"gpu\" }",
    ));
    let cs = diff(&changed, &live, &Context::default());
    let kinds: BTreeMap<String, DriftKind> = cs
        .changes
        .iter()
        .map(|c| (c.address.to_string(), c.kind))
        .collect();
    assert_eq!(
        kinds,
        BTreeMap::from([
            ("bucket.models.ownership".to_string(), DriftKind::Drift),
            ("bucket.models.tags".to_string(), DriftKind::Pending),
        ])
    );
    // Without any record, everything is pending.
    live.buckets.get_mut("models").unwrap().tags = Setting::Present(BTreeMap::new());
    let cs = diff(&changed, &live, &Context::default());
    assert!(cs.changes.iter().all(|c| c.kind == DriftKind::Pending));
}

#[test]
fn digests_agree_between_desired_and_live_when_in_sync() {
    let d = desired(PLAN);
    let live = in_sync(&d);
    let b = &d.buckets["models"];
    assert_eq!(
        bucket_digests(b, None),
        bucket_digests(b, Some(&live.buckets["models"]))
    );
    let r = &d.roles["ray"];
    assert_eq!(
        role_digests(r, None),
        role_digests(r, Some(&live.roles["ray"]))
    );
    let rendered = render_digests(&bucket_digests(b, None));
    assert!(rendered.len() <= 256, "tag values hold 256 characters");
    let parsed = parse_digests(&rendered);
    assert_eq!(parsed.keys().cloned().collect::<BTreeSet<_>>().len(), 5);
}

#[test]
fn self_lockout_is_checked_with_the_real_identity() {
    let text = PLAN.replace(
        "tags = { team = \"ml\" }",
        r#"tags = { team = "ml" }
extra_policy_statements = '[{"Sid":"s3wardAdminsOnly","Effect":"Deny","Principal":"*","Action":"s3:*Policy","Resource":"arn:aws:s3:::acme-models","Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::111111111111:role/admin"}}}]'"#,
    );
    let d = desired(&text);
    let mut live = in_sync(&d);
    live.buckets.get_mut("models").unwrap().policy = Setting::Absent;
    let mut ctx = Context::default();
    ctx.identities.insert(
        "storage".into(),
        Identity::from_caller_arn(
            "111111111111",
            "arn:aws:sts::111111111111:assumed-role/ci/s3ward-x",
        )
        .with_role_arn("arn:aws:iam::111111111111:role/ci"),
    );
    let cs = diff(&d, &live, &ctx);
    assert_eq!(cs.problems.len(), 1, "{:?}", cs.problems);
    assert!(cs.problems[0].message.contains("would deny"));
    let admin = Identity::from_caller_arn(
        "111111111111",
        "arn:aws:sts::111111111111:assumed-role/admin/s3ward-x",
    );
    ctx.identities.insert(
        "storage".into(),
        admin
            .clone()
            .with_role_arn("arn:aws:iam::111111111111:role/admin"),
    );
    assert!(diff(&d, &live, &ctx).problems.is_empty());
    // Ambient credentials: the role's path is unknown, and `role/admin` may not be its ARN.
    ctx.identities.insert("storage".into(), admin);
    let cs = diff(&d, &live, &ctx);
    assert_eq!(cs.problems.len(), 1, "{:?}", cs.problems);
    assert!(
        cs.problems[0].message.contains("might deny")
            && cs.problems[0]
                .message
                .contains("the path of role `admin` is not known"),
        "{}",
        cs.problems[0].message
    );
}

#[test]
fn in_sync_without_a_record_gets_one_and_no_change() {
    let d = desired(PLAN);
    let mut live = in_sync(&d);
    if let Setting::Present(tags) = &mut live.buckets.get_mut("models").unwrap().tags {
        tags.remove(APPLIED_TAG);
    }
    live.roles.get_mut("ray").unwrap().tags.remove(APPLIED_TAG);
    let cs = diff(&d, &live, &Context::default());
    assert!(cs.is_empty());
    assert_eq!(
        cs.applied
            .keys()
            .map(Resource::to_string)
            .collect::<Vec<_>>(),
        vec!["bucket.models".to_string(), "role.ray".to_string()]
    );
}

#[test]
fn a_targeted_setting_records_only_itself() {
    let d = desired(PLAN);
    let mut live = in_sync(&d);
    let old_tag = live.buckets["models"].tags.present().unwrap()[APPLIED_TAG].clone();
    let b = live.buckets.get_mut("models").unwrap();
    b.ownership = Setting::Present(ObjectOwnership::ObjectWriter);
    b.public_access_block = Setting::Present(crate::desired::PublicAccessBlock::all(false));
    // The record held other digests for both settings (as after an older apply).
    let mut old = parse_digests(&old_tag);
    old.insert("ownership".into(), "00000000".into());
    old.insert("public_access_block".into(), "11111111".into());
    if let Setting::Present(tags) = &mut b.tags {
        let value: Vec<String> = old.iter().map(|(k, v)| format!("{k}={v}")).collect();
        tags.insert(APPLIED_TAG.into(), value.join(" "));
    }
    let mut cs = diff(&d, &live, &Context::default());
    cs.retain_targets(&["bucket.models.ownership".parse().unwrap()]);
    assert_eq!(
        addresses(&cs),
        vec![("bucket.models.ownership".into(), Action::Update)]
    );
    let rec = &cs.applied[&Resource::Bucket("models".into())];
    assert_eq!(
        rec.digests["public_access_block"], "11111111",
        "left out: the previous record is kept"
    );
    assert_eq!(
        rec.digests["ownership"],
        bucket_digests(&d.buckets["models"], None)["ownership"],
        "targeted: recorded as applied"
    );
}

#[test]
fn a_live_document_with_a_repeated_key_is_invalid_not_read() {
    // The live text means what s3ward wants once the last `Effect` wins, which is what
    // serde_json alone would read; it must be reported as invalid instead.
    let d = desired(PLAN);
    let mut live = in_sync(&d);
    let repeat = |doc: &PolicyDocument| {
        LiveDocument::from_text(&doc.to_json().replacen(
            "\"Effect\":\"Allow\"",
            "\"Effect\":\"Deny\",\"Effect\":\"Allow\"",
            1,
        ))
    };
    let policy = d.buckets["models"].policy_document().unwrap();
    live.buckets.get_mut("models").unwrap().policy = Setting::Present(repeat(&policy));
    let ray = live.roles.get_mut("ray").unwrap();
    ray.trust = Some(repeat(&d.roles["ray"].trust));
    let grants = d.roles["ray"].grants_policy.clone().unwrap();
    ray.inline
        .insert(GRANTS_POLICY_NAME.into(), repeat(&grants));
    let cs = diff(&d, &live, &Context::default());
    assert_eq!(
        addresses(&cs),
        vec![
            ("bucket.models.policy".into(), Action::Update),
            ("role.ray.trust".into(), Action::Update),
            (
                format!("role.ray.inline_policy[\"{GRANTS_POLICY_NAME}\"]"),
                Action::Update
            ),
        ]
    );
    let repeated = "the key `Effect` is repeated in one object";
    assert!(
        cs.warnings.len() == 1 && cs.warnings[0].message.contains(repeated),
        "{:?}",
        cs.warnings
    );
    for c in &cs.changes[1..] {
        assert!(
            c.notes.iter().any(|n| n.contains(repeated)),
            "{}: {:?}",
            c.address,
            c.notes
        );
    }
}

/// `d`'s bucket policy as live, rewritten by `edit` (which must change the text).
fn live_policy_as(d: &Desired, edit: impl Fn(&str) -> String) -> Live {
    let mut live = in_sync(d);
    let text = d.buckets["models"].policy_document().unwrap().to_json();
    let edited = edit(&text);
    assert_ne!(edited, text);
    live.buckets.get_mut("models").unwrap().policy =
        Setting::Present(LiveDocument::from_text(&edited));
    live
}

#[test]
fn a_live_policy_on_version_2008_converges_in_both_modes() {
    let merge_plan = PLAN.replace(
        "tags = { team = \"ml\" }",
        "tags = { team = \"ml\" }\npolicy_mode = \"merge\"",
    );
    for plan in [PLAN.to_string(), merge_plan] {
        let d = desired(&plan);
        for old in [
            |t: &str| t.replace("2012-10-17", "2008-10-17"),
            |t: &str| t.replace("\"Version\":\"2012-10-17\",", ""),
        ] {
            let live = live_policy_as(&d, old);
            let cs = diff(&d, &live, &Context::default());
            assert!(cs.is_empty(), "{plan}\n{:?}", addresses(&cs));
            assert!(cs.problems.is_empty() && cs.warnings.is_empty());
        }
    }
}

#[test]
fn a_live_policy_on_version_2008_with_variables_is_rewritten_as_2012() {
    let extra = r#"extra_policy_statements = '[{"Sid":"s3wardtHome","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-models/home/${aws:userid}/*"}]'"#;
    let merge_plan = PLAN.replace(
        "tags = { team = \"ml\" }",
        &format!("tags = {{ team = \"ml\" }}\npolicy_mode = \"merge\"\n{extra}"),
    );
    let plan = PLAN.replace(
        "tags = { team = \"ml\" }",
        &format!("tags = {{ team = \"ml\" }}\n{extra}"),
    );
    for plan in [plan, merge_plan] {
        let d = desired(&plan);
        // As 2012-10-17 (what s3ward writes): in sync.
        assert!(diff(&d, &in_sync(&d), &Context::default()).is_empty());
        // As 2008-10-17, `${aws:userid}` is text: a change, written as 2012-10-17.
        let live = live_policy_as(&d, |t| t.replace("2012-10-17", "2008-10-17"));
        let cs = diff(&d, &live, &Context::default());
        assert_eq!(
            addresses(&cs),
            vec![("bucket.models.policy".into(), Action::Update)],
            "{plan}"
        );
        let Write::PutBucketPolicy { policy, .. } = &cs.changes[0].write else {
            panic!("not a put")
        };
        assert!(policy.contains("\"Version\":\"2012-10-17\""), "{policy}");
        assert_eq!(
            cs.changes[0].policy_diff.as_ref().unwrap().version,
            Some(("2008-10-17".into(), "2012-10-17".into()))
        );
    }
}

#[test]
fn merge_mode_refuses_to_mix_2008_variables_with_its_own() {
    // Another writer's statement holds `${` as text under 2008-10-17; s3ward's holds it as a
    // variable. One document cannot say both: a problem, and no write.
    let extra = r#"extra_policy_statements = '[{"Sid":"s3wardtHome","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-models/home/${aws:userid}/*"}]'"#;
    let d = desired(&PLAN.replace(
        "tags = { team = \"ml\" }",
        &format!("tags = {{ team = \"ml\" }}\npolicy_mode = \"merge\"\n{extra}"),
    ));
    let foreign = r#"{"Sid":"Literal","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::333333333333:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-models/${x}/*"}"#;
    let live = live_policy_as(&d, |t| {
        t.replace("2012-10-17", "2008-10-17").replacen(
            "\"Statement\":[",
            &format!("\"Statement\":[{foreign},"),
            1,
        )
    });
    let cs = diff(&d, &live, &Context::default());
    assert!(cs.changes.is_empty(), "{:?}", addresses(&cs));
    assert_eq!(cs.problems.len(), 1, "{:?}", cs.problems);
    assert!(
        cs.problems[0].message.contains("reads as text"),
        "{:?}",
        cs.problems
    );
    // Without `${` in s3ward's statements the other writer's Version is kept.
    let d = desired(&PLAN.replace(
        "tags = { team = \"ml\" }",
        "tags = { team = \"ml\" }\npolicy_mode = \"merge\"",
    ));
    let mut live = live_policy_as(&d, |t| {
        t.replace("2012-10-17", "2008-10-17").replacen(
            "\"Statement\":[",
            &format!("\"Statement\":[{foreign},"),
            1,
        )
    });
    let Some(LiveDocument { doc: Ok(doc), .. }) = live.buckets["models"].policy.present().cloned()
    else {
        panic!("parses")
    };
    let mut doc = doc;
    doc.statements.pop(); // one of s3ward's: a write is due
    live.buckets.get_mut("models").unwrap().policy =
        Setting::Present(LiveDocument::from_text(&doc.to_json()));
    let cs = diff(&d, &live, &Context::default());
    let Write::PutBucketPolicy { policy, .. } = &cs.changes[0].write else {
        panic!("{:?}", addresses(&cs))
    };
    assert!(policy.contains("\"Version\":\"2008-10-17\""), "{policy}");
}

/// `PLAN` with `extra` as the bucket's `extra_policy_statements`, and the live bucket without
/// a policy (so the plan writes it).
fn with_extra_statements(extra: &str) -> (Desired, Live) {
    let text = PLAN.replace(
        "tags = { team = \"ml\" }",
        &format!("tags = {{ team = \"ml\" }}\nextra_policy_statements = '{extra}'"),
    );
    let d = desired(&text);
    let mut live = in_sync(&d);
    live.buckets.get_mut("models").unwrap().policy = Setting::Absent;
    (d, live)
}

fn applying_as(account_key: &str, id: &str, arn: &str) -> Context {
    let mut ctx = Context::default();
    ctx.identities
        .insert(account_key.into(), Identity::from_caller_arn(id, arn));
    ctx
}

#[test]
fn a_condition_s3ward_cannot_decide_refuses_the_plan_naming_it() {
    let (d, live) = with_extra_statements(
        r#"[{"Sid":"s3wardVpceOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::acme-models","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1a2b"}}}]"#,
    );
    let mut ctx = applying_as(
        "storage",
        "111111111111",
        "arn:aws:sts::111111111111:assumed-role/ci/s3ward-x",
    );
    let cs = diff(&d, &live, &ctx);
    assert_eq!(cs.problems.len(), 1, "{:?}", cs.problems);
    assert_eq!(cs.problems[0].address.to_string(), "bucket.models.policy");
    assert!(
        cs.problems[0]
            .message
            .contains("might deny `s3:PutBucketPolicy`")
            && cs.problems[0].message.contains("`aws:SourceVpce`"),
        "{}",
        cs.problems[0].message
    );
    ctx.allow_self_lockout = true;
    assert!(diff(&d, &live, &ctx).problems.is_empty());
}

#[test]
fn a_policy_already_in_place_is_not_refused_again() {
    // Nothing is written, so nothing can lock anyone out (and `drift` keeps working).
    let (d, mut live) = with_extra_statements(
        r#"[{"Sid":"s3wardVpceOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::acme-models","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1a2b"}}}]"#,
    );
    live.buckets.get_mut("models").unwrap().policy =
        Setting::Present(doc(&d.buckets["models"].policy_document().unwrap()));
    let ctx = applying_as(
        "storage",
        "111111111111",
        "arn:aws:sts::111111111111:assumed-role/ci/s3ward-x",
    );
    let cs = diff(&d, &live, &ctx);
    assert!(cs.changes.is_empty() && cs.problems.is_empty(), "{cs:?}");
}

const OWN_ROLE_PLAN: &str = r#"version = 1
[accounts.storage]
id = "111111111111"
assume_role = "arn:aws:iam::111111111111:role/ops/s3ward"

[roles.deployer]
account = "storage"
name = "s3ward"
path = "/ops/"
trust = [{ service = "codebuild.amazonaws.com" }]
managed_policies = ["arn:aws:iam::aws:policy/AdministratorAccess"]
[roles.deployer.inline_policies]
extra = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'
"#;

#[test]
fn changes_to_the_role_s3ward_runs_as_are_refused() {
    let d = desired(OWN_ROLE_PLAN);
    let mut live = in_sync(&d);
    let lr = live.roles.get_mut("deployer").unwrap();
    lr.trust = Some(LiveDocument::from_text(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}"#,
    ));
    lr.inline.clear();
    lr.managed = Setting::Present(BTreeSet::new());
    let mut ctx = applying_as(
        "storage",
        "111111111111",
        "arn:aws:sts::111111111111:assumed-role/s3ward/s3ward-test",
    );
    let cs = diff(&d, &live, &ctx);
    let refused: Vec<String> = cs.problems.iter().map(|p| p.address.to_string()).collect();
    assert_eq!(
        refused,
        vec![
            "role.deployer.trust",
            "role.deployer.inline_policy[\"extra\"]",
            "role.deployer.managed_policy[\"arn:aws:iam::aws:policy/AdministratorAccess\"]",
        ],
        "{:?}",
        cs.problems
    );
    assert!(
        cs.problems[0]
            .message
            .contains("role `s3ward`, which s3ward itself runs as"),
        "{}",
        cs.problems[0].message
    );
    ctx.allow_self_lockout = true;
    assert!(diff(&d, &live, &ctx).problems.is_empty());
    // Another role of the same account is not s3ward's.
    let other = applying_as(
        "storage",
        "111111111111",
        "arn:aws:sts::111111111111:assumed-role/admin/s3ward-test",
    );
    assert!(diff(&d, &live, &other).problems.is_empty());
}

#[test]
fn more_than_50_tags_once_merged_with_live_ones_are_refused() {
    let text = PLAN.replace(
        "tags = { team = \"ml\" }",
        &format!(
            "tags = {{ {} }}",
            (0..10)
                .map(|i| format!("declared{i} = \"v\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let d = desired(&text);
    let mut live = in_sync(&d);
    let Setting::Present(tags) = &mut live.buckets.get_mut("models").unwrap().tags else {
        unreachable!()
    };
    tags.clear();
    tags.extend((0..45).map(|i| (format!("other{i}"), "v".to_string())));
    let cs = diff(&d, &live, &Context::default());
    assert_eq!(cs.problems.len(), 1, "{:?}", cs.problems);
    assert_eq!(cs.problems[0].address.to_string(), "bucket.models.tags");
    assert!(
        cs.problems[0].message.contains("56 tags"),
        "{}",
        cs.problems[0].message
    );
    // 39 live ones leave room: 39 + 10 + the `s3ward:applied` record = 50.
    let Setting::Present(tags) = &mut live.buckets.get_mut("models").unwrap().tags else {
        unreachable!()
    };
    tags.clear();
    tags.extend((0..39).map(|i| (format!("other{i}"), "v".to_string())));
    assert!(diff(&d, &live, &Context::default()).problems.is_empty());
}

#[test]
fn role_tags_over_50_are_refused_too() {
    let d = desired(PLAN);
    let mut live = in_sync(&d);
    let lr = live.roles.get_mut("ray").unwrap();
    lr.tags = (0..50)
        .map(|i| (format!("other{i}"), "v".to_string()))
        .collect();
    let cs = diff(&d, &live, &Context::default());
    assert_eq!(
        cs.problems
            .iter()
            .map(|p| p.address.to_string())
            .collect::<Vec<_>>(),
        vec!["role.ray.tags"],
        "{:?}",
        cs.problems
    );
}

#[test]
fn inline_policy_size_counts_live_policies_that_stay() {
    let big = |n: usize| {
        let resources: Vec<String> = (0..n)
            .map(|i| format!("\"arn:aws:s3:::bucket-number-{i:04}/*\""))
            .collect();
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":[{}]}}]}}"#,
            resources.join(",")
        )
    };
    let text = PLAN.replace(
        "managed_policies = [",
        &format!(
            "inline_policies_mode = \"additive\"\ninline_policies = {{ declared = '{}' }}\nmanaged_policies = [",
            big(140)
        ),
    );
    let d = desired(&text);
    let mut live = in_sync(&d);
    let lr = live.roles.get_mut("ray").unwrap();
    lr.inline.remove("declared");
    // Additive: this undeclared policy stays, and counts towards IAM's limit.
    lr.inline
        .insert("theirs".into(), LiveDocument::from_text(&big(140)));
    lr.inline_complete = true;
    let cs = diff(&d, &live, &Context::default());
    assert_eq!(cs.problems.len(), 1, "{:?}", cs.problems);
    assert_eq!(cs.problems[0].address.to_string(), "role.ray");
    assert!(
        cs.problems[0].message.contains("`theirs`"),
        "{}",
        cs.problems[0].message
    );
    // Exclusive: it is deleted first, so it does not count.
    let exclusive = desired(&text.replace("\"additive\"", "\"exclusive\""));
    assert!(
        diff(&exclusive, &live, &Context::default())
            .problems
            .is_empty()
    );
}

/// What the plan file leaves alone but that grants access is listed as not managed, with
/// the key that would manage it: attachments and inline policies a role does not declare,
/// Allow statements s3ward does not own in a merge-mode bucket policy. A declared
/// (exclusive) list makes the same attachment a change instead; a Deny grants nothing.
#[test]
fn undeclared_access_on_managed_resources_is_listed_as_not_managed() {
    use crate::change::NotManagedKind;
    let text = PLAN
        .replace(
            "managed_policies = [\"arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy\"]\n",
            "",
        )
        .replace(
            "block_public_access = true\n",
            "block_public_access = true\npolicy_mode = \"merge\"\n",
        );
    let d = desired(&text);
    let mut live = in_sync(&d);
    let full = "arn:aws:iam::aws:policy/AmazonS3FullAccess";
    let ray = live.roles.get_mut("ray").unwrap();
    ray.attached_unmanaged.insert(full.into());
    let allow = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    let deny = allow.replace("Allow", "Deny");
    ray.inline
        .insert("hand-made".into(), LiveDocument::from_text(allow));
    ray.inline
        .insert("only-denies".into(), LiveDocument::from_text(&deny));
    let b = live.buckets.get_mut("models").unwrap();
    let mut policy: serde_json::Value =
        serde_json::from_str(&b.policy.present().unwrap().text).unwrap();
    let statements = policy["Statement"].as_array_mut().unwrap();
    statements.push(serde_json::json!({"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::333333333333:root"},
        "Action": ["s3:GetObject", "s3:ListBucket", "s3:PutObject", "s3:DeleteObject"],
        "Resource": "arn:aws:s3:::acme-models/*"}));
    statements.push(
        serde_json::json!({"Sid": "TheirDeny", "Effect": "Deny", "Principal": "*",
        "Action": "s3:*", "Resource": "arn:aws:s3:::acme-models/*"}),
    );
    b.policy = Setting::Present(LiveDocument::from_text(&policy.to_string()));

    let cs = diff(&d, &live, &Context::default());
    assert!(cs.is_empty(), "{:?}", addresses(&cs));
    let listed: Vec<(String, NotManagedKind, &str, Option<&str>, &str)> = cs
        .not_managed
        .iter()
        .map(|n| {
            (
                n.resource.to_string(),
                n.kind,
                n.name.as_str(),
                n.detail.as_deref(),
                n.key.as_str(),
            )
        })
        .collect();
    let index = format!("[{}]", statements_len(&policy) - 2);
    assert_eq!(
        listed,
        [
            (
                "bucket.models".to_string(),
                NotManagedKind::BucketPolicyStatement,
                index.as_str(),
                Some(
                    "AWS arn:aws:iam::333333333333:root: s3:GetObject, s3:ListBucket, s3:PutObject and 1 more"
                ),
                "extra_policy_statements"
            ),
            (
                "role.ray".to_string(),
                NotManagedKind::ManagedPolicy,
                full,
                None,
                "managed_policies"
            ),
            (
                "role.ray".to_string(),
                NotManagedKind::InlinePolicy,
                "hand-made",
                None,
                "inline_policies"
            ),
        ]
    );

    // Declared (exclusive): the attachment is s3ward's to detach, a change.
    let d = desired(PLAN);
    let mut live = in_sync(&d);
    if let Setting::Present(m) = &mut live.roles.get_mut("ray").unwrap().managed {
        m.insert(full.into());
    }
    let cs = diff(&d, &live, &Context::default());
    assert!(cs.not_managed.is_empty(), "{:?}", cs.not_managed);
    assert_eq!(cs.changes.len(), 1, "{:?}", addresses(&cs));
}

fn statements_len(policy: &serde_json::Value) -> usize {
    policy["Statement"].as_array().unwrap().len()
}
