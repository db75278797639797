//! Property tests: equality is invariant under every form SPEC "Policy comparison" lists,
//! applied in random combinations, and any change to what a policy grants breaks equality,
//! including a change of case alone in what IAM compares case-sensitively (values, resources,
//! principals) and a condition key split into two that differ only in case.
//!
//! The pools hold values that differ only in case (`Mistral`/`mistral`, `s3:prefix`/`s3:Prefix`,
//! `a/*`/`A/*`), so that generated documents carry both spellings side by side: a comparison
//! or a display that folds case merges them, and these properties catch it.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::canonical::{CanonicalStatement, equivalent, pretty};
use super::document::{Effect, PolicyDocument, Principal, Statement};

const ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "s3:GetBucketLocation",
    "s3:*",
    "s3:DeleteObject",
    "sts:AssumeRole",
    "kms:Decrypt",
];
const RESOURCES: &[&str] = &[
    "arn:aws:s3:::models",
    "arn:aws:s3:::models/*",
    "arn:aws:s3:::models/Mistral-7B-v0.1/*",
    "arn:aws:s3:::models/mistral-7b-v0.1/*",
    "arn:aws:s3:::ckpt/*",
    "arn:aws:s3:::ckpt/${aws:username}/*",
    "*",
];
const ACCOUNTS: &[&str] = &["111111111111", "222222222222", "333333333333"];
const ROLES: &[&str] = &[
    "arn:aws:iam::111111111111:role/inference",
    "arn:aws:iam::111111111111:role/Inference",
    "arn:aws:iam::222222222222:role/ray",
];
const SERVICES: &[&str] = &["ec2.amazonaws.com", "EC2.amazonaws.com", "s3.amazonaws.com"];
const SIDS: &[&str] = &["s3wardRead", "s3wardread", "Vendor", "DenyHttp"];
const OPS: &[&str] = &["StringEquals", "StringLike", "Bool", "ArnLike"];
const KEYS: &[&str] = &[
    "s3:prefix",
    "s3:Prefix",
    "aws:SourceArn",
    "aws:SecureTransport",
    "s3:x-amz-acl",
];
const VALUES: &[&str] = &[
    "a/*",
    "A/*",
    "b/*",
    "false",
    "bucket-owner-full-control",
    "x",
    "X",
];

fn subset(pool: &'static [&'static str], max: usize) -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(pool, 1..=max.min(pool.len()))
        .prop_map(|v| v.into_iter().map(str::to_string).collect())
}

/// A principal: an AWS principal value is either an account id (written in full as the root
/// ARN; the invariance test rewrites it) or a role ARN.
fn principal() -> impl Strategy<Value = Option<Principal>> {
    prop_oneof![
        Just(None),
        Just(Some(Principal::Star)),
        (
            subset(ACCOUNTS, 2),
            subset(ROLES, 3),
            any::<bool>(),
            proptest::option::of(subset(SERVICES, 2))
        )
            .prop_map(|(accts, roles, with_roles, services)| {
                let mut aws: Vec<String> = accts
                    .iter()
                    .map(|a| format!("arn:aws:iam::{a}:root"))
                    .collect();
                if with_roles {
                    aws.extend(roles);
                }
                let mut m = std::collections::BTreeMap::new();
                m.insert("AWS".to_string(), aws);
                if let Some(s) = services {
                    m.insert("Service".to_string(), s);
                }
                Some(Principal::Map(m))
            }),
    ]
}

fn condition() -> impl Strategy<Value = Option<super::Condition>> {
    proptest::option::of(proptest::collection::btree_map(
        proptest::sample::select(OPS).prop_map(str::to_string),
        proptest::collection::btree_map(
            proptest::sample::select(KEYS).prop_map(str::to_string),
            subset(VALUES, 3).prop_map(|v| v.into_iter().map(Value::String).collect::<Vec<_>>()),
            1..=2,
        ),
        1..=2,
    ))
}

fn statement() -> impl Strategy<Value = Statement> {
    (
        proptest::option::of(proptest::sample::select(SIDS).prop_map(str::to_string)),
        any::<bool>(),
        principal(),
        any::<bool>(),
        subset(ACTIONS, 4),
        any::<bool>(),
        subset(RESOURCES, 3),
        condition(),
    )
        .prop_map(
            |(sid, allow, principal, not_action, actions, not_res, resources, condition)| {
                let mut st = Statement::allow();
                st.sid = sid;
                st.effect = if allow { Effect::Allow } else { Effect::Deny };
                st.principal = principal;
                if not_action {
                    st.not_action = Some(actions);
                } else {
                    st.action = Some(actions);
                }
                if not_res {
                    st.not_resource = Some(resources);
                } else {
                    st.resource = Some(resources);
                }
                st.condition = condition;
                st
            },
        )
}

fn document() -> impl Strategy<Value = PolicyDocument> {
    proptest::collection::vec(statement(), 1..5).prop_map(|mut sts| {
        // Distinct statements, so that one mutation cannot be hidden by a duplicate.
        let mut seen = std::collections::BTreeSet::new();
        sts.retain(|s| seen.insert(CanonicalStatement::of(s)));
        PolicyDocument::new(sts)
    })
}

/// Choices for rewriting a document into an equivalent text.
#[derive(Clone, Debug)]
struct Rewrite {
    seed: u64,
    pretty: bool,
    url_encode: bool,
}

fn rewrite() -> impl Strategy<Value = Rewrite> {
    (any::<u64>(), any::<bool>(), any::<bool>()).prop_map(|(seed, pretty, url_encode)| Rewrite {
        seed,
        pretty,
        url_encode,
    })
}

/// Applies every SPEC equivalence at random: statement order, value order, string vs
/// one-element list, key order, whitespace, action and Effect case, the case of a condition
/// key that is the only one of its spelling, account id vs root ARN, `"*"` vs `{"AWS":"*"}`,
/// `Version` 2008-10-17 or none when no statement holds `${`, and IAM's URL encoding.
fn equivalent_text(doc: &PolicyDocument, rw: &Rewrite) -> String {
    let mut rng = fastrand::Rng::with_seed(rw.seed);
    let mut statements: Vec<Value> = doc
        .statements
        .iter()
        .map(|s| rewrite_statement(s, &mut rng))
        .collect();
    rng.shuffle(&mut statements);
    if rng.bool()
        && let Some(first) = statements.first().cloned()
    {
        statements.push(first); // a duplicate statement grants nothing new
    }
    let mut top = vec![("Statement".to_string(), Value::Array(statements))];
    let version = if doc.to_json().contains("${") {
        // The versions read `${` differently: keep the document's (none means 2008-10-17).
        match doc.version.as_deref() {
            Some("2008-10-17") | None if rng.bool() => None,
            Some(_) | None => Some(doc.version.as_deref().unwrap_or("2008-10-17")),
        }
    } else {
        [None, Some("2008-10-17"), Some("2012-10-17")][rng.usize(0..3)]
    };
    if let Some(v) = version {
        top.push(("Version".to_string(), json!(v)));
    }
    if rng.bool() {
        top.push(("Id".to_string(), json!("any-label")));
    }
    rng.shuffle(&mut top);
    let v = Value::Object(top.into_iter().collect());
    let text = if rw.pretty {
        serde_json::to_string_pretty(&v).unwrap()
    } else {
        serde_json::to_string(&v).unwrap()
    };
    if rw.url_encode {
        percent_encoding::utf8_percent_encode(&text, percent_encoding::NON_ALPHANUMERIC).to_string()
    } else {
        text
    }
}

fn list(
    values: &[String],
    rng: &mut fastrand::Rng,
    map: impl Fn(&str, &mut fastrand::Rng) -> String,
) -> Value {
    let mut v: Vec<String> = values.iter().map(|x| map(x, rng)).collect();
    rng.shuffle(&mut v);
    if v.len() == 1 && rng.bool() {
        Value::String(v.remove(0))
    } else {
        Value::Array(v.into_iter().map(Value::String).collect())
    }
}

fn random_case(s: &str, rng: &mut fastrand::Rng) -> String {
    s.chars()
        .map(|c| {
            if rng.bool() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

fn rewrite_principal(p: &Principal, rng: &mut fastrand::Rng) -> Value {
    match p {
        Principal::Star => match rng.u8(0..3) {
            0 => json!("*"),
            1 => json!({"AWS": "*"}),
            _ => json!({"AWS": ["*"]}),
        },
        Principal::Map(m) => {
            let mut entries: Vec<(String, Value)> = m
                .iter()
                .map(|(k, vals)| {
                    let v = list(vals, rng, |x, rng| {
                        match x
                            .strip_prefix("arn:aws:iam::")
                            .and_then(|r| r.strip_suffix(":root"))
                        {
                            Some(id) if rng.bool() => id.to_string(),
                            _ => x.to_string(),
                        }
                    });
                    (k.clone(), v)
                })
                .collect();
            rng.shuffle(&mut entries);
            Value::Object(entries.into_iter().collect())
        }
    }
}

fn rewrite_statement(st: &Statement, rng: &mut fastrand::Rng) -> Value {
    let mut entries: Vec<(String, Value)> = Vec::new();
    if let Some(sid) = &st.sid {
        entries.push(("Sid".into(), json!(sid)));
    }
    let effect = st.effect.as_str();
    entries.push((
        "Effect".into(),
        json!(match rng.u8(0..3) {
            0 => effect.to_string(),
            1 => effect.to_ascii_uppercase(),
            _ => effect.to_ascii_lowercase(),
        }),
    ));
    if let Some(p) = &st.principal {
        entries.push(("Principal".into(), rewrite_principal(p, rng)));
    }
    for (k, l, case) in [
        ("Action", &st.action, true),
        ("NotAction", &st.not_action, true),
        ("Resource", &st.resource, false),
        ("NotResource", &st.not_resource, false),
    ] {
        if let Some(l) = l {
            let v = list(l, rng, |x, rng| {
                if case {
                    random_case(x, rng)
                } else {
                    x.to_string()
                }
            });
            entries.push((k.into(), v));
        }
    }
    if let Some(c) = &st.condition {
        let mut ops: Vec<(String, Value)> = c
            .iter()
            .map(|(op, keys)| {
                let mut ks: Vec<(String, Value)> = keys
                    .iter()
                    .map(|(k, vals)| {
                        let strs: Vec<String> = vals
                            .iter()
                            .map(|v| v.as_str().unwrap().to_string())
                            .collect();
                        // A key's case does not matter, unless another key of the operator
                        // differs from it only in case: then they are two keys.
                        let alone = keys.keys().filter(|o| o.eq_ignore_ascii_case(k)).count() == 1;
                        let k = if alone {
                            random_case(k, rng)
                        } else {
                            k.clone()
                        };
                        (k, list(&strs, rng, |x, _| x.to_string()))
                    })
                    .collect();
                rng.shuffle(&mut ks);
                (
                    op.clone(),
                    Value::Object(ks.into_iter().collect::<Map<_, _>>()),
                )
            })
            .collect();
        rng.shuffle(&mut ops);
        entries.push(("Condition".into(), Value::Object(ops.into_iter().collect())));
    }
    rng.shuffle(&mut entries);
    Value::Object(entries.into_iter().collect())
}

/// One change to what a document grants. Each uses a value found nowhere else, so the
/// changed statement cannot coincide with another one.
#[derive(Clone, Debug)]
enum Mutation {
    AddAction,
    ReplaceResource,
    FlipEffect,
    RenameSid,
    AddConditionValue,
    AddPrincipalAccount,
    AddStatement,
    DropStatement,
    // Case alone, where IAM compares case-sensitively.
    CaseOfResource,
    CaseOfPrincipal,
    CaseOfConditionValue,
    CaseOfSid,
    /// One condition key holding two values becomes two keys that differ only in case, one
    /// value each: IAM then requires both instead of either.
    SplitConditionKeyByCase,
    /// `Version` 2008-10-17 on a document with `${…}`: the variables become text.
    OldVersionWithVariables,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::AddAction),
        Just(Mutation::ReplaceResource),
        Just(Mutation::FlipEffect),
        Just(Mutation::RenameSid),
        Just(Mutation::AddConditionValue),
        Just(Mutation::AddPrincipalAccount),
        Just(Mutation::AddStatement),
        Just(Mutation::DropStatement),
        Just(Mutation::CaseOfResource),
        Just(Mutation::CaseOfPrincipal),
        Just(Mutation::CaseOfConditionValue),
        Just(Mutation::CaseOfSid),
        Just(Mutation::SplitConditionKeyByCase),
        Just(Mutation::OldVersionWithVariables),
    ]
}

/// `s` with the case of one ASCII letter flipped (the `index`-th, cycling), avoiding the
/// spellings `taken` refuses; `None` when there is no such letter.
fn case_variant(s: &str, index: usize, taken: impl Fn(&str) -> bool) -> Option<String> {
    let letters: Vec<usize> = s
        .char_indices()
        .filter(|(_, c)| c.is_ascii_alphabetic())
        .map(|(i, _)| i)
        .collect();
    (0..letters.len()).find_map(|n| {
        let at = letters[(index + n) % letters.len()];
        let mut bytes = s.as_bytes().to_vec();
        bytes[at] ^= 0x20; // ASCII case bit
        let v = String::from_utf8(bytes).expect("ASCII letter flipped");
        (!taken(&v)).then_some(v)
    })
}

/// Flips the case of one letter of one string in `list`; whether it did.
fn recase_one(list: &mut [String], index: usize) -> bool {
    for n in 0..list.len() {
        let i = (index + n) % list.len();
        if let Some(v) = case_variant(&list[i], index, |_| false) {
            list[i] = v;
            return true;
        }
    }
    false
}

/// `doc` with one change of meaning, or `None` when the statement at `index` offers nothing
/// for this kind of change (a case change needs a letter; a split needs two values).
fn mutate(doc: &PolicyDocument, m: &Mutation, index: usize) -> Option<PolicyDocument> {
    let mut d = doc.clone();
    let i = index % d.statements.len();
    let st = &mut d.statements[i];
    match m {
        Mutation::AddAction => match (&mut st.action, &mut st.not_action) {
            (Some(list), _) | (None, Some(list)) => list.push("s3:PutBucketTagging".into()),
            (None, None) => unreachable!("the parser requires Action or NotAction"),
        },
        Mutation::ReplaceResource => {
            st.resource = Some(vec!["arn:aws:s3:::mutated/*".into()]);
            st.not_resource = None;
        }
        Mutation::FlipEffect => {
            st.effect = match st.effect {
                Effect::Allow => Effect::Deny,
                Effect::Deny => Effect::Allow,
            }
        }
        Mutation::RenameSid => st.sid = Some("mutatedSid".into()),
        Mutation::AddConditionValue => {
            st.condition
                .get_or_insert_with(Default::default)
                .entry("StringEquals".into())
                .or_default()
                .entry("aws:PrincipalOrgID".into())
                .or_default()
                .push(json!("o-mutated"));
        }
        Mutation::AddPrincipalAccount => match &mut st.principal {
            Some(Principal::Map(m)) => m
                .entry("AWS".into())
                .or_default()
                .push("arn:aws:iam::999999999999:root".into()),
            _ => {
                st.principal = Some(Principal::Map(
                    [("AWS".to_string(), vec!["999999999999".to_string()])].into(),
                ))
            }
        },
        Mutation::AddStatement => {
            let mut extra = Statement::allow();
            extra.sid = Some("added".into());
            extra.action = Some(vec!["s3:GetObjectTagging".into()]);
            extra.resource = Some(vec!["arn:aws:s3:::mutated/*".into()]);
            d.statements.push(extra);
        }
        Mutation::DropStatement => {
            d.statements.remove(i);
        }
        Mutation::CaseOfResource => {
            let list = st.resource.as_mut().or(st.not_resource.as_mut())?;
            if !recase_one(list, index) {
                return None;
            }
        }
        Mutation::CaseOfPrincipal => {
            let Some(Principal::Map(m)) = &mut st.principal else {
                return None;
            };
            let list = m.values_mut().find(|l| l.iter().any(|v| v != "*"))?;
            if !recase_one(list, index) {
                return None;
            }
        }
        Mutation::CaseOfConditionValue => {
            let values = st
                .condition
                .as_mut()?
                .values_mut()
                .flat_map(|keys| keys.values_mut())
                .next()?;
            let mut strs: Vec<String> = values
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            if !recase_one(&mut strs, index) {
                return None;
            }
            *values = strs.into_iter().map(Value::String).collect();
        }
        Mutation::CaseOfSid => {
            let sid = st.sid.as_mut()?;
            *sid = case_variant(sid, index, |_| false)?;
        }
        Mutation::SplitConditionKeyByCase => {
            let keys = st
                .condition
                .as_mut()?
                .values_mut()
                .find(|keys| keys.values().any(|v| v.len() >= 2))?;
            let key = keys.iter().find(|(_, v)| v.len() >= 2)?.0.clone();
            let other = case_variant(&key, index, |k| keys.contains_key(k))?;
            let moved = keys.get_mut(&key)?.pop()?;
            keys.insert(other, vec![moved]);
        }
        Mutation::OldVersionWithVariables => {
            if !d.to_json().contains("${") {
                return None;
            }
            d.version = Some("2008-10-17".into());
        }
    }
    Some(d)
}

/// The display form with the spellings that carry no meaning folded: action names, and
/// condition keys that are the only one of their spelling under their operator.
fn display_folded(doc: &PolicyDocument) -> Value {
    let mut v: Value = serde_json::from_str(&pretty(doc)).unwrap();
    // Versions are compared by the canonical form (they differ only with `${`).
    v.as_object_mut().unwrap().remove("Version");
    for st in v["Statement"].as_array_mut().unwrap() {
        for k in ["Action", "NotAction"] {
            match st.get_mut(k) {
                Some(Value::String(a)) => *a = a.to_ascii_lowercase(),
                Some(Value::Array(l)) => {
                    for a in l {
                        *a = json!(a.as_str().unwrap().to_ascii_lowercase());
                    }
                }
                _ => {}
            }
        }
        if let Some(Value::Object(ops)) = st.get_mut("Condition") {
            for keys in ops.values_mut() {
                let Value::Object(keys) = keys else { continue };
                let names: Vec<String> = keys.keys().cloned().collect();
                *keys = std::mem::take(keys)
                    .into_iter()
                    .map(|(k, v)| {
                        let alone =
                            names.iter().filter(|o| o.eq_ignore_ascii_case(&k)).count() == 1;
                        (if alone { k.to_ascii_lowercase() } else { k }, v)
                    })
                    .collect();
            }
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn equal_under_every_spec_equivalence(doc in document(), rw in rewrite()) {
        let text = equivalent_text(&doc, &rw);
        let other = PolicyDocument::parse(&text).unwrap();
        prop_assert!(equivalent(&doc, &other), "not equal:\n{}\n{}", doc.to_json(), text);
        prop_assert!(super::diff::diff(Some(&doc), Some(&other)).is_empty());
        // Display keeps action names and condition keys as written; everything else it shows
        // exactly, case included.
        prop_assert_eq!(display_folded(&doc), display_folded(&other));
    }

    #[test]
    fn different_grants_are_never_equal(doc in document(), m in mutation(), index in any::<usize>(), rw in rewrite()) {
        let changed = mutate(&doc, &m, index);
        prop_assume!(changed.is_some());
        let changed = changed.unwrap();
        if let Mutation::FlipEffect = m {
            // Flipping may make the statement equal to another existing one; then the grant
            // set shrinks, which is still a difference, unless the document had only that pair.
            let canon: Vec<_> = changed.statements.iter().map(CanonicalStatement::of).collect();
            let unique: std::collections::BTreeSet<_> = canon.iter().collect();
            prop_assume!(unique.len() == canon.len());
        }
        // Whatever form the changed document is written in, it stays different.
        let text = equivalent_text(&changed, &rw);
        let reparsed = PolicyDocument::parse(&text).unwrap();
        prop_assert!(!equivalent(&doc, &reparsed), "{:?} left it equal:\n{}", m, doc.to_json());
        // The plan shows it: a non-empty diff whose changed statements look different, and
        // a different display form.
        let d = super::diff::diff(Some(&doc), Some(&reparsed));
        prop_assert!(!d.is_empty(), "{:?} left no diff:\n{}", m, doc.to_json());
        for c in &d.changes {
            if let super::diff::StatementChange::Changed { before, after, .. } = c {
                prop_assert_ne!(before, after, "{:?} shows no difference", m);
            }
        }
        prop_assert_ne!(pretty(&doc), pretty(&changed), "{:?} displays the same", m);
    }

    #[test]
    fn display_form_is_a_fixed_point(doc in document()) {
        let shown = pretty(&doc);
        let again = PolicyDocument::parse(&shown).unwrap();
        prop_assert!(equivalent(&doc, &again));
        prop_assert_eq!(pretty(&again), shown);
    }

    #[test]
    fn parser_never_panics(text in ".{0,200}") {
        let _ = PolicyDocument::parse(&text);
    }
}
