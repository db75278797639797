//! Properties of the evaluator over random documents: adding an Allow never turns `allowed`
//! into `denied`; adding an explicit Deny that matches always gives `denied`; the order of
//! statements never matters. The pools mix matching and non-matching actions, resources,
//! principals and conditions (known, unknown and absent keys), so every branch is reached.

use proptest::prelude::*;

use super::request::{Caller, Request};
use super::{BucketFacts, Decision, Evaluation, Identity, Policy, Sourced, Verdict, evaluate};
use crate::desired::PublicAccessBlock;
use crate::policy::{PolicyDocument, Statement};

const ACTIONS: &[&str] = &["s3:GetObject", "s3:Get*", "s3:*", "s3:PutObject", "*"];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/k",
    "arn:aws:s3:::x/*",
];
const PRINCIPALS: &[&str] = &[
    r#""*""#,
    r#"{"AWS":"arn:aws:iam::111111111111:role/app"}"#,
    r#"{"AWS":"arn:aws:iam::111111111111:root"}"#,
    r#"{"AWS":"arn:aws:iam::222222222222:role/reader"}"#,
    r#"{"AWS":"222222222222"}"#,
];
const CONDITIONS: &[&str] = &[
    "",
    r#","Condition":{"Bool":{"aws:SecureTransport":"true"}}"#,
    r#","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}"#,
    r#","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalTag/team":"ml"}}"#,
    r#","Condition":{"Null":{"aws:SourceArn":"true"}}"#,
];

fn statement(effect: &str, a: usize, r: usize, p: Option<usize>, c: usize) -> Statement {
    let principal = p.map_or(String::new(), |p| {
        format!(r#","Principal":{}"#, PRINCIPALS[p])
    });
    let text = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"{effect}","Action":"{}","Resource":"{}"{principal}{}}}]}}"#,
        ACTIONS[a], RESOURCES[r], CONDITIONS[c]
    );
    PolicyDocument::parse(&text).unwrap().statements.remove(0)
}

fn arb_statement(resource_policy: bool) -> impl Strategy<Value = Statement> {
    (
        prop::bool::ANY,
        0..ACTIONS.len(),
        0..RESOURCES.len(),
        0..PRINCIPALS.len(),
        0..CONDITIONS.len(),
    )
        .prop_map(move |(allow, a, r, p, c)| {
            let effect = if allow { "Allow" } else { "Deny" };
            statement(effect, a, r, resource_policy.then_some(p), c)
        })
}

fn policy(name: &str, statements: &[Statement]) -> Policy {
    Policy {
        name: name.into(),
        variables: true,
        statements: statements
            .iter()
            .map(|s| Sourced {
                statement: s.clone(),
                source: None,
            })
            .collect(),
    }
}

fn verdict(cross: bool, identity: &[Statement], bucket: &[Statement], restrict: bool) -> Verdict {
    let caller = if cross {
        "arn:aws:iam::222222222222:role/reader"
    } else {
        "arn:aws:iam::111111111111:role/app"
    };
    let req = Request::new(
        Caller::from_arn(caller).unwrap(),
        "s3:GetObject",
        "arn:aws:s3:::b/k",
        &[],
    );
    let id = Identity::Known(vec![policy("identity", identity)]);
    let b = BucketFacts {
        account: "111111111111".into(),
        policy: Some(policy("bucket policy", bucket)),
        enforces_ownership: Some(true),
        public_access_block: Some(PublicAccessBlock {
            restrict_public_buckets: restrict,
            ..PublicAccessBlock::all(false)
        }),
        object_owner: None,
    };
    evaluate(&Evaluation {
        request: &req,
        identity: &id,
        bucket: &b,
        key: None,
    })
}

fn docs() -> impl Strategy<Value = (bool, Vec<Statement>, Vec<Statement>)> {
    (
        prop::bool::ANY,
        prop::collection::vec(arb_statement(false), 0..5),
        prop::collection::vec(arb_statement(true), 0..5),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn adding_an_allow_never_turns_allowed_into_denied(
        (cross, id, bucket) in docs(),
        extra in arb_statement(false),
        extra_b in arb_statement(true),
        to_bucket in prop::bool::ANY,
    ) {
        let before = verdict(cross, &id, &bucket, false);
        let mut allow = if to_bucket { extra_b } else { extra };
        allow.effect = crate::policy::Effect::Allow;
        let (mut id2, mut bucket2) = (id.clone(), bucket.clone());
        if to_bucket { bucket2.push(allow) } else { id2.push(allow) }
        let after = verdict(cross, &id2, &bucket2, false).decision;
        // Allowed stays allowed; depends may become allowed but never denied.
        if before.decision == Decision::Allowed {
            prop_assert_eq!(after, Decision::Allowed);
        } else if before.decision == Decision::Depends {
            prop_assert_ne!(after, Decision::Denied);
        }
    }

    #[test]
    fn adding_a_matching_deny_always_denies(
        (cross, id, bucket) in docs(),
        restrict in prop::bool::ANY,
        a in prop::sample::select(vec![0usize, 1, 2, 4]),
        r in prop::sample::select(vec![0usize, 1, 2]),
        to_bucket in prop::bool::ANY,
    ) {
        let (mut id2, mut bucket2) = (id.clone(), bucket.clone());
        if to_bucket {
            bucket2.push(statement("Deny", a, r, Some(0), 1));
        } else {
            id2.push(statement("Deny", a, r, None, 0));
        }
        prop_assert_eq!(verdict(cross, &id2, &bucket2, restrict).decision, Decision::Denied);
    }

    #[test]
    fn statement_order_never_matters(
        (cross, id, bucket) in docs(),
        restrict in prop::bool::ANY,
        seed in any::<u64>(),
    ) {
        let mut id2 = id.clone();
        let mut bucket2 = bucket.clone();
        let n = (seed % 7) as usize;
        id2.reverse();
        let k = if bucket2.is_empty() { 0 } else { n % bucket2.len() };
        bucket2.rotate_left(k);
        if bucket2.len() > 2 {
            let j = (seed as usize / 7) % bucket2.len();
            bucket2.swap(0, j);
        }
        let a = verdict(cross, &id, &bucket, restrict);
        let b = verdict(cross, &id2, &bucket2, restrict);
        prop_assert_eq!(a.decision, b.decision);
        prop_assert_eq!(a.missing_context, b.missing_context);
    }
}
