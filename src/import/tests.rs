//! Import as a round trip, without AWS: a plan file is resolved, the live state s3ward would
//! leave behind is built from it, and importing that state must give back a plan file that
//! resolves to the same grants and diffs to nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::*;
use crate::desired::{Desired, role_arn};
use crate::state::{LiveAcl, LiveDocument};

const ACCOUNT: &str = "111111111111";
const OWNER: &str = "owner-canonical-id";

pub(super) fn resolve(text: &str) -> Desired {
    plan_file::parse(
        Path::new("t.toml"),
        text,
        plan_file::Options {
            allow_self_lockout: false,
        },
    )
    .unwrap_or_else(|r| panic!("{}\n{text}", r.render(false)))
    .desired
}

pub(super) fn doc(json: &str) -> LiveDocument {
    LiveDocument::from_text(json)
}

/// The live state an apply of `desired` leaves (what `plan` would then find in sync).
pub(super) fn live_of(desired: &Desired) -> (Vec<BucketIn>, Vec<RoleIn>) {
    let buckets = desired
        .buckets
        .values()
        .map(|b| {
            let mut tags = b.tags.clone();
            tags.insert("managed-by".into(), "s3ward".into());
            tags.insert(APPLIED_TAG.into(), "policy=0000".into());
            BucketIn {
                account: 0,
                name: b.name.clone(),
                region: b.region.clone().unwrap_or_else(|| "us-east-1".into()),
                live: LiveBucket {
                    exists: true,
                    policy: match b.policy_document() {
                        Some(d) => Setting::Present(doc(&d.to_json())),
                        None => Setting::Absent,
                    },
                    acl: Setting::Present(LiveAcl {
                        owner: OWNER.into(),
                        grants: vec![AclGrant {
                            grantee: format!("CanonicalUser:{OWNER}"),
                            permission: "FULL_CONTROL".into(),
                        }],
                    }),
                    ownership: b.ownership.map_or(Setting::Absent, Setting::Present),
                    public_access_block: b
                        .public_access_block
                        .map_or(Setting::Absent, Setting::Present),
                    tags: Setting::Present(tags),
                    encryption: Setting::NotRead,
                },
            }
        })
        .collect();
    let roles = desired
        .roles
        .values()
        .map(|r| {
            let mut inline: BTreeMap<String, LiveDocument> = r
                .inline_policies
                .iter()
                .flatten()
                .map(|(n, d)| (n.clone(), doc(&d.to_json())))
                .collect();
            if let Some(g) = &r.grants_policy {
                inline.insert(GRANTS_POLICY_NAME.into(), doc(&g.to_json()));
            }
            let mut tags = r.tags.clone();
            tags.insert("s3ward:plan".into(), desired.name.clone());
            tags.insert(APPLIED_TAG.into(), "trust=0000".into());
            RoleIn {
                account: 0,
                name: r.name.clone(),
                live: LiveRole {
                    exists: true,
                    arn: r.arn(),
                    path: r.path_or_default().into(),
                    description: r.description.clone(),
                    max_session_duration: r.max_session_duration.or(Some(3600)),
                    tags,
                    trust: Some(doc(&r.trust.to_json())),
                    attached_unmanaged: BTreeSet::new(),
                    managed: Setting::Present(r.managed_policies.clone().unwrap_or_default()),
                    inline,
                    inline_complete: true,
                },
            }
        })
        .collect();
    (buckets, roles)
}

fn input(buckets: Vec<BucketIn>, roles: Vec<RoleIn>) -> Input {
    Input {
        plan_name: "imported".into(),
        accounts: vec![AccountIn {
            key: None,
            id: ACCOUNT.into(),
            assume_role: None,
            external_id: None,
            identity: None,
        }],
        buckets,
        roles,
        keys: Vec::new(),
    }
}

/// Imports, and checks that the result resolves and has nothing left to change.
pub(super) fn import_clean(input: &Input) -> (Imported, Desired) {
    let imported = import(input);
    assert!(
        imported.invalid.is_none(),
        "{}\n{}",
        imported.invalid.as_ref().unwrap().render(false),
        imported.text
    );
    assert!(
        imported.notes.is_empty(),
        "{:#?}\n{}",
        imported.notes,
        imported.text
    );
    let desired = resolve(&imported.text);
    (imported, desired)
}

/// `(to, access, prefixes)` of every grant, per bucket name.
fn grants_of(d: &Desired) -> BTreeMap<String, Vec<(String, Access, Vec<String>)>> {
    d.buckets
        .values()
        .map(|b| {
            let g = b
                .grants
                .iter()
                .map(|g| (g.principal.clone(), g.access, g.prefixes.clone()))
                .collect();
            (b.name.clone(), g)
        })
        .collect()
}

const PLAN: &str = r#"version = 1

[settings]
name = "ml-models"
region = "us-east-1"

[accounts.storage]
id = "111111111111"

[accounts.partner]
id = "444444444444"

[principals.eval-vendor]
arn = "arn:aws:iam::333333333333:role/model-eval"

[roles.inference]
account = "storage"
name = "acme-inference"
description = "EKS inference pods"
tags = { team = "ml-platform" }
trust = [
  { eks = { oidc_provider = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE", namespace = "ml", service_account = "inference" } },
]
managed_policies = []

[roles.ray-cluster]
account = "storage"
name = "acme-ray-nodes"
path = "/ml/"
max_session_duration = 7200
trust = [{ service = "ec2.amazonaws.com" }, { account = "partner", external_id = "x-1" }]
managed_policies = ["arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"]

[roles.ray-cluster.inline_policies]
logs = '''{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"*"}]}'''

[buckets.models]
account = "storage"
name = "acme-ml-models"
object_ownership = "BucketOwnerEnforced"
block_public_access = true
tags = { team = "ml-platform" }
extra_policy_statements = '''
[{"Sid":"s3wardDenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*",
  "Resource":["arn:aws:s3:::acme-ml-models","arn:aws:s3:::acme-ml-models/*"],
  "Condition":{"Bool":{"aws:SecureTransport":"false"}}}]
'''

[[buckets.models.grants]]
to = "role.inference"
access = "read"
prefixes = ["Mistral-7B-v0.1/"]

[[buckets.models.grants]]
to = "role.ray-cluster"
access = "read"
prefixes = ["Mistral-7B-v0.1/"]

[[buckets.models.grants]]
to = "role.ray-cluster"
access = "read-write"
prefixes = ["checkpoints/", "evals/"]

[[buckets.models.grants]]
to = "role.ray-cluster"
access = "read-write"
prefixes = ["scratch/"]

[[buckets.models.grants]]
to = "principal.eval-vendor"
access = "list"
prefixes = ["evals/"]

[[buckets.models.grants]]
to = "account.partner"
access = "write"
prefixes = ["incoming/"]

[[buckets.models.grants]]
to = "arn:aws:iam::555555555555:user/auditor"
access = "read"

[[buckets.models.grants]]
to = "account.storage"
access = "full"

[buckets.open]
account = "storage"
name = "acme-open-data"
region = "eu-west-1"
block_public_access = false

[[buckets.open.grants]]
to = "*"
access = "read"
public = true

[[buckets.open.grants]]
to = "role.ray-cluster"
access = "full"
"#;

#[test]
fn a_plan_s3ward_applied_comes_back_as_the_same_grants() {
    let original = resolve(PLAN);
    let (buckets, roles) = live_of(&original);
    let (imported, desired) = import_clean(&input(buckets, roles));
    assert_eq!(
        grants_of(&desired),
        grants_of(&original),
        "{}",
        imported.text
    );
    // Keys come back from the Sids, not from the names.
    assert_eq!(
        desired.buckets.keys().collect::<Vec<_>>(),
        vec!["models", "open"]
    );
    assert_eq!(
        desired.roles.keys().collect::<Vec<_>>(),
        vec!["inference", "ray-cluster"]
    );
    assert_eq!(desired.accounts["storage"].id, ACCOUNT);
    assert_eq!(desired.accounts["partner"].id, "444444444444");
    assert_eq!(desired.principals.len(), 1);
    // Typed trust, settings, tags without s3ward's record, raw extras.
    let ray = &desired.roles["ray-cluster"];
    assert_eq!(ray.path.as_deref(), Some("/ml/"));
    assert_eq!(ray.max_session_duration, Some(7200));
    assert!(crate::policy::equivalent(
        &ray.trust,
        &original.roles["ray-cluster"].trust
    ));
    assert!(!ray.tags.contains_key(APPLIED_TAG));
    assert_eq!(ray.tags["s3ward:plan"], "ml-models");
    let text = &imported.text;
    assert!(text.contains("trust = [\n  { service = \"ec2.amazonaws.com\" },\n  { account = \"444444444444\", external_id = \"x-1\" },\n]"), "{text}");
    assert!(text.contains("{ eks = { oidc_provider = \"oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE\", namespace = \"ml\", service_account = \"inference\" } }"), "{text}");
    assert!(
        text.contains(
            "extra_policy_statements = '''\n[\n  {\n    \"Sid\": \"s3wardDenyInsecureTransport\""
        ),
        "{text}"
    );
    assert!(text.contains("region = \"eu-west-1\""), "{text}");
    assert!(text.contains("block_public_access = false"), "{text}");
    assert!(text.contains("public = true"), "{text}");
    assert!(!text.contains("\nbucket_acl"), "{text}");
}

#[test]
fn a_hand_edited_grant_statement_stays_raw_and_the_rest_are_grants() {
    let original = resolve(PLAN);
    let (mut buckets, roles) = live_of(&original);
    let models = buckets
        .iter_mut()
        .find(|b| b.name == "acme-ml-models")
        .unwrap();
    let Setting::Present(d) = &models.live.policy else {
        panic!()
    };
    let mut policy = d.doc.clone().unwrap();
    let st = policy
        .statements
        .iter_mut()
        .find(|s| s.sid.as_deref() == Some("s3wardListPrincipalEvalVendorBucket"))
        .unwrap();
    st.action
        .as_mut()
        .unwrap()
        .push("s3:GetBucketTagging".into());
    models.live.policy = Setting::Present(doc(&policy.to_json()));
    let (imported, desired) = import_clean(&input(buckets, roles));
    let b = &desired.buckets["models"];
    assert_eq!(b.grants.len(), 7, "{}", imported.text);
    assert!(
        b.grants
            .iter()
            .all(|g| g.grantee != crate::desired::Grantee::Principal("eval-vendor".into()))
    );
    assert!(
        imported.text.contains("`s3wardListPrincipalEvalVendor…`"),
        "{}",
        imported.text
    );
    assert!(desired.principals.is_empty());
}

#[test]
fn grants_to_a_role_without_s3ward_grants_stay_raw() {
    let original = resolve(PLAN);
    let (buckets, mut roles) = live_of(&original);
    for r in &mut roles {
        r.live.inline.remove(GRANTS_POLICY_NAME);
    }
    let (imported, desired) = import_clean(&input(buckets, roles));
    assert!(
        desired
            .buckets
            .values()
            .flat_map(|b| &b.grants)
            .all(|g| !matches!(g.grantee, crate::desired::Grantee::Role(_))),
        "{}",
        imported.text
    );
    assert!(desired.roles.values().all(|r| r.grants_policy.is_none()));
    // Keys still come from the Sids (the extras name them).
    assert!(desired.roles.contains_key("ray-cluster"));
}

#[test]
fn a_role_whose_grants_span_buckets_not_imported_is_reported() {
    let original = resolve(PLAN);
    let (mut buckets, roles) = live_of(&original);
    buckets.retain(|b| b.name == "acme-ml-models");
    let imported = import(&input(buckets, roles));
    assert!(imported.invalid.is_none());
    let notes: Vec<String> = imported.notes.iter().map(Note::to_string).collect();
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert!(
        notes[0].starts_with(
            "role.ray-cluster.inline_policy[\"s3ward-grants\"]: `s3ward plan` will show `~"
        ),
        "{notes:#?}"
    );
    // Names the buckets the import did not read, and does not claim they are in this account.
    insta::assert_snapshot!(notes[0]);
    assert!(
        imported.text.contains("# Needs attention"),
        "{}",
        imported.text
    );
}

#[test]
fn trust_policies_typed_entries_cannot_write_stay_raw() {
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:o/r:*"},"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}}]}"#;
    let role = RoleIn {
        account: 0,
        name: "gha".into(),
        live: LiveRole {
            exists: true,
            arn: role_arn(ACCOUNT, "/", "gha"),
            path: "/".into(),
            description: None,
            max_session_duration: Some(3600),
            tags: BTreeMap::new(),
            trust: Some(doc(trust)),
            attached_unmanaged: BTreeSet::new(),
            managed: Setting::Present(BTreeSet::new()),
            inline: BTreeMap::new(),
            inline_complete: true,
        },
    };
    let (imported, desired) = import_clean(&input(Vec::new(), vec![role]));
    assert!(
        imported.text.contains("trust_policy = '''"),
        "{}",
        imported.text
    );
    assert!(
        imported
            .text
            .contains("raw: statement 0 has no `StringEquals` on `:sub`"),
        "{}",
        imported.text
    );
    assert!(
        desired.roles["gha"]
            .inline_policies
            .as_ref()
            .unwrap()
            .is_empty()
    );
    assert!(
        !imported
            .text
            .contains("[settings]\nname = \"imported\"\nregion")
    );
}

fn bare_bucket(name: &str, policy: Option<&str>) -> BucketIn {
    BucketIn {
        account: 0,
        name: name.into(),
        region: "us-east-1".into(),
        live: LiveBucket {
            exists: true,
            policy: policy.map_or(Setting::Absent, |p| Setting::Present(doc(p))),
            acl: Setting::Present(LiveAcl {
                owner: OWNER.into(),
                grants: vec![],
            }),
            ownership: Setting::Absent,
            public_access_block: Setting::Absent,
            tags: Setting::Absent,
            encryption: Setting::NotRead,
        },
    }
}

#[test]
fn a_public_policy_without_a_block_declares_one_that_allows_it() {
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Pub","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub-data/*"}]}"#;
    let imported = import(&input(vec![bare_bucket("pub-data", Some(policy))], vec![]));
    assert!(imported.invalid.is_none(), "{}", imported.text);
    assert_eq!(imported.notes.len(), 1, "{:?}", imported.notes);
    assert_eq!(
        imported.notes[0].address,
        "bucket.pub-data.public_access_block"
    );
    assert!(imported.text.contains("block_public_access = false"));
}

#[test]
fn an_old_policy_version_round_trips_without_policy_variables() {
    // 2008-10-17 and 2012-10-17 grant the same without `${`: nothing to report, plan converges.
    let policy = r#"{"Version":"2008-10-17","Statement":[{"Sid":"A","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::old-data/*"}]}"#;
    let imported = import(&input(vec![bare_bucket("old-data", Some(policy))], vec![]));
    assert!(imported.invalid.is_none(), "{}", imported.text);
    assert!(imported.notes.is_empty(), "{:?}", imported.notes);
    assert!(!imported.text.contains("Version"), "{}", imported.text);
    // With a policy variable the versions differ: 2008-10-17 reads `${aws:username}` as text.
    let policy = policy.replace("old-data/*", "old-data/${aws:username}/*");
    let imported = import(&input(vec![bare_bucket("old-data", Some(&policy))], vec![]));
    assert_eq!(imported.notes.len(), 1, "{:?}", imported.notes);
    assert!(
        imported.notes[0]
            .message
            .contains("`Version` is `2008-10-17`")
            && imported.notes[0].message.contains("`${…}`"),
        "{}",
        imported.notes[0].message
    );
}

#[test]
fn acl_grants_to_others_make_the_acl_unmanaged_and_tags_skip_reserved_keys() {
    let mut b = bare_bucket("shared.logs", None);
    b.live.acl = Setting::Present(LiveAcl {
        owner: OWNER.into(),
        grants: vec![AclGrant {
            grantee: "Group:http://acs.amazonaws.com/groups/s3/LogDelivery".into(),
            permission: "WRITE".into(),
        }],
    });
    b.live.tags = Setting::Present(BTreeMap::from([
        ("aws:cloudformation:stack-name".into(), "x".into()),
        (APPLIED_TAG.into(), "x".into()),
        ("team".into(), "ml".into()),
        ("bad".into(), "a<b>".into()),
    ]));
    b.live.ownership = Setting::Present(ObjectOwnership::ObjectWriter);
    b.live.public_access_block = Setting::Present(PublicAccessBlock {
        block_public_acls: true,
        ignore_public_acls: false,
        block_public_policy: true,
        restrict_public_buckets: false,
    });
    let (imported, desired) = import_clean(&input(vec![b], vec![]));
    let text = &imported.text;
    assert!(
        text.contains("[buckets.shared-logs]\naccount = \"main\"\nname = \"shared.logs\""),
        "{text}"
    );
    assert!(text.contains("bucket_acl = \"unmanaged\""), "{text}");
    assert!(
        text.contains("Group:http://acs.amazonaws.com/groups/s3/LogDelivery"),
        "{text}"
    );
    assert!(
        text.contains("block_public_acls = true, ignore_public_acls = false"),
        "{text}"
    );
    let b = &desired.buckets["shared-logs"];
    assert_eq!(b.tags, BTreeMap::from([("team".into(), "ml".into())]));
    assert_eq!(b.acl, AclMode::Unmanaged);
    assert_eq!(b.ownership, Some(ObjectOwnership::ObjectWriter));
    assert!(
        text.contains("Tags left out (unmanaged): `aws:cloudformation:stack-name`, `bad`"),
        "{text}"
    );
}

#[test]
fn bucket_keys_come_from_role_grant_sids() {
    assert_eq!(
        identity_sid_words("s3wardModelsReadWriteList2"),
        vec!["ModelsRead".to_string(), "Models".to_string()]
    );
    assert_eq!(
        identity_sid_words("s3wardDataListBucket"),
        vec!["Data".to_string()]
    );
    assert!(identity_sid_words("Other").is_empty());
    let words = BTreeMap::from([("Models".to_string(), 3), ("ModelsRead".to_string(), 1)]);
    assert_eq!(pick_key("acme-ml-models", &words), "models");
    assert_eq!(pick_key("models", &words), "models");
    assert_eq!(pick_key("x.y", &BTreeMap::new()), "x.y");
    assert_eq!(key_from_name("a.b+c"), "a-b-c");
}

#[test]
fn a_policy_that_locks_the_account_out_needs_allow_self_lockout() {
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"s3:*","Resource":["arn:aws:s3:::locked","arn:aws:s3:::locked/*"]}]}"#;
    let imported = import(&input(vec![bare_bucket("locked", Some(policy))], vec![]));
    assert!(imported.invalid.is_none(), "{}", imported.text);
    assert!(imported.needs_allow_self_lockout);
    assert_eq!(imported.notes.len(), 1, "{:?}", imported.notes);
    assert!(imported.notes[0].message.contains("--allow-self-lockout"));
    // It resolves with the flag, and the statement is kept as it is.
    let d = plan_file::parse(
        Path::new("t.toml"),
        &imported.text,
        plan_file::Options {
            allow_self_lockout: true,
        },
    )
    .unwrap()
    .desired;
    assert_eq!(d.buckets["locked"].policy_statements.len(), 1);
}

/// An EKS Pod Identity trust comes back as a `pod_identity` entry (with its region, and the
/// cluster's account when it is not the role's), and plans no change.
#[test]
fn pod_identity_trust_comes_back_typed() {
    let plan = PLAN.replace(
        "  { eks = { oidc_provider = \"oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE\", namespace = \"ml\", service_account = \"inference\" } },\n",
        "  { pod_identity = { cluster = \"ml-prod\", namespace = \"ml\", service_account = \"inference\" } },\n  { pod_identity = { cluster = \"ml-eu\", namespace = \"ml\", service_account = \"batch\", region = \"eu-west-1\", account = \"partner\" } },\n",
    );
    let original = resolve(&plan);
    let (buckets, roles) = live_of(&original);
    let (imported, desired) = import_clean(&input(buckets, roles));
    let text = &imported.text;
    assert!(
        crate::policy::equivalent(
            &desired.roles["inference"].trust,
            &original.roles["inference"].trust
        ),
        "{text}"
    );
    assert!(text.contains("{ pod_identity = { cluster = \"ml-prod\", namespace = \"ml\", service_account = \"inference\", region = \"us-east-1\" } }"), "{text}");
    assert!(text.contains("{ pod_identity = { cluster = \"ml-eu\", namespace = \"ml\", service_account = \"batch\", region = \"eu-west-1\", account = \"444444444444\" } }"), "{text}");
    assert!(!text.contains("trust_policy"), "{text}");
}
