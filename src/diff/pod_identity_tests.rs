//! Unit tests of the pod identity association diff: real plan-file text, live states by hand.

use std::collections::BTreeMap;

use super::super::tests::{desired, in_sync};
use super::super::{Context, diff};
use crate::applied::DriftKind;
use crate::change::{Action, Address, Write};
use crate::state::{Live, LiveAssociation, Setting};

const PLAN: &str = r#"version = 1
[settings]
name = "ml"
region = "us-east-1"
[accounts.compute]
id = "222222222222"

[roles.inference]
account = "compute"
trust = [{ pod_identity = { cluster = "ml-prod", namespace = "ml", service_account = "inference" } }]
"#;

const KEY: &str = "ml-prod/ml/inference";
const ROLE: &str = "arn:aws:iam::222222222222:role/inference";

fn with(live: &mut Live, state: Setting<LiveAssociation>) {
    live.pod_identity.insert(
        "inference".into(),
        BTreeMap::from([(KEY.to_string(), state)]),
    );
}

fn association(role_arn: &str, tags: &[(&str, &str)]) -> Setting<LiveAssociation> {
    Setting::Present(LiveAssociation {
        id: "a-1".into(),
        role_arn: role_arn.into(),
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    })
}

fn address() -> Address {
    Address::RolePodIdentity("inference".into(), KEY.into())
}

#[test]
fn an_association_that_points_at_the_role_is_no_change() {
    let d = desired(PLAN);
    let mut live = in_sync(&d);
    with(&mut live, association(ROLE, &[]));
    let cs = diff(&d, &live, &Context::default());
    assert!(cs.is_empty(), "{:?}", cs.changes);
    assert!(cs.applied.is_empty() && cs.warnings.is_empty());
}

#[test]
fn an_absent_association_is_created_tagged_as_s3wards() {
    let d = desired(PLAN);
    let mut live = in_sync(&d);
    with(&mut live, Setting::Absent);
    let cs = diff(&d, &live, &Context::default());
    assert_eq!(cs.changes.len(), 1, "{:?}", cs.changes);
    let c = &cs.changes[0];
    assert_eq!((&c.address, c.action), (&address(), Action::Create));
    let Write::PodIdentityAssociation(w) = &c.write else {
        panic!("{:?}", c.write)
    };
    assert_eq!(
        (w.account.as_str(), w.region.as_str(), w.cluster.as_str()),
        ("compute", "us-east-1", "ml-prod")
    );
    assert_eq!(
        (w.role_arn.as_str(), w.association_id.as_ref()),
        (ROLE, None)
    );
    assert_eq!(w.tags.get("managed-by").map(String::as_str), Some("s3ward"));
    assert_eq!(w.tags.get("s3ward:plan").map(String::as_str), Some("ml"));
    assert_eq!(
        c.kind,
        DriftKind::Drift,
        "applied (the record says so), now gone"
    );
    let mut live = in_sync(&d);
    live.roles.get_mut("inference").unwrap().tags.clear();
    with(&mut live, Setting::Absent);
    let cs = diff(&d, &live, &Context::default());
    assert_eq!(cs.changes[0].kind, DriftKind::Pending, "never applied");
}

#[test]
fn an_association_to_another_role_is_updated_and_says_which() {
    let d = desired(PLAN);
    let other = "arn:aws:iam::222222222222:role/other";
    let mut live = in_sync(&d);
    with(&mut live, association(other, &[]));
    let cs = diff(&d, &live, &Context::default());
    let c = &cs.changes[0];
    assert_eq!((&c.address, c.action), (&address(), Action::Update));
    let Write::PodIdentityAssociation(w) = &c.write else {
        panic!("{:?}", c.write)
    };
    assert_eq!(
        (w.role_arn.as_str(), w.association_id.as_deref()),
        (ROLE, Some("a-1"))
    );
    assert!(
        c.reason.as_deref().unwrap().contains(other),
        "{:?}",
        c.reason
    );
    assert_eq!(c.before, Some(serde_json::json!({ "role_arn": other })));
    assert!(
        c.notes[0].contains("not created by s3ward"),
        "{:?}",
        c.notes
    );
    // The role's record says s3ward applied the association to this role: drift.
    assert_eq!(c.kind, DriftKind::Drift);
    assert!(
        cs.applied.contains_key(&address().resource()),
        "recorded again"
    );

    // One s3ward created: no note; a role never recorded: pending.
    let mut live = in_sync(&d);
    live.roles.get_mut("inference").unwrap().tags.clear();
    with(&mut live, association(other, &[("managed-by", "s3ward")]));
    let cs = diff(&d, &live, &Context::default());
    let c = &cs.changes[0];
    assert!(c.notes.is_empty(), "{:?}", c.notes);
    assert_eq!(c.kind, DriftKind::Pending);
}

#[test]
fn a_new_role_gets_its_association_too() {
    let d = desired(PLAN);
    let mut live = Live::default();
    live.roles
        .insert("inference".into(), crate::state::LiveRole::absent());
    with(&mut live, Setting::Absent);
    let cs = diff(&d, &live, &Context::default());
    let got: Vec<String> = cs.changes.iter().map(|c| c.address.to_string()).collect();
    assert_eq!(
        got,
        [
            "role.inference",
            r#"role.inference.pod_identity["ml-prod/ml/inference"]"#
        ]
    );
    let record = &cs.applied[&address().resource()];
    assert!(record.digests.contains_key("pod_identity"), "{record:?}");
}

#[test]
fn a_cluster_in_an_account_without_a_session_is_a_warning_not_a_change() {
    let text = PLAN.replace(
        "service_account = \"inference\" }",
        "service_account = \"inference\", account = \"333333333333\" }",
    );
    let d = desired(&text);
    let mut live = in_sync(&d);
    with(&mut live, Setting::NotRead);
    let cs = diff(&d, &live, &Context::default());
    assert!(cs.is_empty(), "{:?}", cs.changes);
    assert_eq!(cs.warnings.len(), 1);
    assert!(cs.warnings[0].message.contains("333333333333"));
}

#[test]
fn associations_not_read_at_all_say_nothing() {
    // `import` verifies its plan file without reading associations.
    let d = desired(PLAN);
    let cs = diff(&d, &in_sync(&d), &Context::default());
    assert!(cs.is_empty() && cs.warnings.is_empty(), "{cs:?}");
}
