//! The canonical form of a policy: two documents are equal when their canonical forms are.
//!
//! SPEC "Policy comparison" lists what makes no difference, and each item is one rule here:
//!
//! | difference | rule |
//! |---|---|
//! | statement order, duplicates | statements are a set |
//! | order inside Action/NotAction/Resource/NotResource/Principal/Condition values | value lists are sets |
//! | a string versus a one-element list | both parse to a list |
//! | whitespace, key order | parsed, not compared as text |
//! | case of action names and of Effect | actions lower-cased; Effect is an enum |
//! | bare account id versus `arn:aws:iam::ID:root` | AWS principals expanded to the root ARN |
//! | `"Principal": "*"` versus `{"AWS": "*"}` | `*` becomes `{"AWS": ["*"]}` |
//!
//! | `Version` 2008-10-17 (or none) versus 2012-10-17, when no statement holds `${` | the version is compared only when a statement holds `${` |
//!
//! Beyond the SPEC list, and each true of how IAM evaluates policies: the case of a condition
//! *key* name (lower-cased), condition values compared as text (`true` == `"true"`), an
//! empty `Sid` and none, an empty `Condition` and none. `Id` is not compared: it grants
//! nothing and AWS treats it as a label.
//!
//! Never folded, because each would hide a real change (SPEC: over-normalising): the case of
//! values, resources, principals and Sids (IAM compares them case-sensitively), and two
//! condition keys under one operator that differ only in case. IAM evaluates both of those
//! keys, so `{"k": "a", "K": "b"}` requires `a` *and* `b` where `{"k": ["a", "b"]}` requires
//! either; they stay two keys here (see [`canonical_condition`]). The display form
//! ([`display_statement`]) keeps every one of these differences visible too.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::document::{Effect, PolicyDocument, Principal, Statement};
use crate::names::{account_root_arn, is_account_id};

/// A statement in canonical form. Ordered, so statements form a set.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CanonicalStatement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub principal: Option<CanonicalPrincipal>,
    pub not_principal: Option<CanonicalPrincipal>,
    pub action: Option<BTreeSet<String>>,
    pub not_action: Option<BTreeSet<String>>,
    pub resource: Option<BTreeSet<String>>,
    pub not_resource: Option<BTreeSet<String>>,
    pub condition: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
}

/// Principal type → set of values, with `*` and account ids normalised.
pub type CanonicalPrincipal = BTreeMap<String, BTreeSet<String>>;

/// A policy in canonical form.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CanonicalPolicy {
    pub version: String,
    pub statements: BTreeSet<CanonicalStatement>,
}

/// Expands a bare 12-digit account id to the account's root ARN; other values unchanged.
pub fn normalize_aws_principal(value: &str) -> String {
    if is_account_id(value) {
        account_root_arn(value)
    } else {
        value.to_string()
    }
}

pub fn canonical_principal(p: &Principal) -> CanonicalPrincipal {
    match p {
        Principal::Star => BTreeMap::from([("AWS".to_string(), BTreeSet::from(["*".to_string()]))]),
        Principal::Map(m) => m
            .iter()
            .map(|(kind, values)| {
                let set = values
                    .iter()
                    .map(|v| {
                        if kind == "AWS" {
                            normalize_aws_principal(v)
                        } else {
                            v.clone()
                        }
                    })
                    .collect();
                (kind.clone(), set)
            })
            .collect(),
    }
}

/// A condition value as text, the way IAM compares it.
pub fn condition_value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The keys of one condition operator, canonical: a key in any case is one key (lower-cased),
/// unless the operator spells it several ways with different values. IAM then evaluates each
/// spelling, and all must hold, which one key holding every value does not say; so each
/// spelling's values stay a set of their own, under `KEY\0N` (N orders the value sets; a NUL
/// cannot be in a key IAM accepts, so these never meet a written key). Spellings with the same
/// values require the same thing twice and count once.
fn canonical_condition(keys: &BTreeMap<String, Vec<Value>>) -> BTreeMap<String, BTreeSet<String>> {
    let mut spellings: BTreeMap<String, BTreeSet<BTreeSet<String>>> = BTreeMap::new();
    for (key, values) in keys {
        spellings
            .entry(key.to_ascii_lowercase())
            .or_default()
            .insert(values.iter().map(condition_value_text).collect());
    }
    let mut out = BTreeMap::new();
    for (key, sets) in spellings {
        if sets.len() == 1 {
            out.insert(key, sets.into_iter().next().expect("one set"));
        } else {
            for (n, values) in sets.into_iter().enumerate() {
                out.insert(format!("{key}\0{n}"), values);
            }
        }
    }
    out
}

/// Whether a statement holds a policy variable (`${`), which `2008-10-17` reads as text and
/// `2012-10-17` as a variable.
pub fn has_policy_variable(st: &Statement) -> bool {
    st.to_value().to_string().contains("${")
}

/// The `Version` that matters for comparing `doc`: the written one (a missing one means
/// `2008-10-17`) when a statement holds `${`, else `2012-10-17`, since without policy
/// variables the two versions read every statement alike (SPEC "Policy comparison").
pub fn effective_version(doc: &PolicyDocument) -> &str {
    if doc.statements.iter().any(has_policy_variable) {
        doc.version.as_deref().unwrap_or("2008-10-17")
    } else {
        "2012-10-17"
    }
}

impl CanonicalStatement {
    pub fn of(st: &Statement) -> CanonicalStatement {
        let lower = |list: &Option<Vec<String>>| {
            list.as_ref()
                .map(|l| l.iter().map(|a| a.to_ascii_lowercase()).collect())
        };
        let set = |list: &Option<Vec<String>>| list.as_ref().map(|l| l.iter().cloned().collect());
        let condition = st
            .condition
            .iter()
            .flatten()
            .filter(|(_, keys)| !keys.is_empty())
            .map(|(op, keys)| (op.clone(), canonical_condition(keys)))
            .collect();
        CanonicalStatement {
            sid: st.sid().map(str::to_string),
            effect: st.effect,
            principal: st.principal.as_ref().map(canonical_principal),
            not_principal: st.not_principal.as_ref().map(canonical_principal),
            action: lower(&st.action),
            not_action: lower(&st.not_action),
            resource: set(&st.resource),
            not_resource: set(&st.not_resource),
            condition,
        }
    }
}

impl CanonicalPolicy {
    pub fn of(doc: &PolicyDocument) -> CanonicalPolicy {
        CanonicalPolicy {
            version: effective_version(doc).to_string(),
            statements: doc.statements.iter().map(CanonicalStatement::of).collect(),
        }
    }
}

/// Whether two documents grant the same thing (SPEC "Policy comparison").
pub fn equivalent(a: &PolicyDocument, b: &PolicyDocument) -> bool {
    CanonicalPolicy::of(a) == CanonicalPolicy::of(b)
}

/// Whether two statements are the same statement in meaning (Sid included).
pub fn statements_equivalent(a: &Statement, b: &Statement) -> bool {
    CanonicalStatement::of(a) == CanonicalStatement::of(b)
}

/// The statement written for display: values sorted (case-insensitively, then as written),
/// singletons folded, AWS principals as ARNs, keys in IAM's customary order. Only action
/// names that differ in case alone are shown once (they are one action); resources that do
/// are two resources and are both shown.
pub fn display_statement(st: &Statement) -> Statement {
    fn sorted(list: &Option<Vec<String>>, one_in_any_case: bool) -> Option<Vec<String>> {
        list.as_ref().map(|l| {
            let mut l = l.clone();
            l.sort_by(|a, b| {
                (a.to_ascii_lowercase(), a.as_str()).cmp(&(b.to_ascii_lowercase(), b.as_str()))
            });
            if one_in_any_case {
                l.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
            } else {
                l.dedup();
            }
            l
        })
    }
    fn principal(p: &Option<Principal>) -> Option<Principal> {
        p.as_ref().map(|p| {
            Principal::Map(
                canonical_principal(p)
                    .into_iter()
                    .map(|(k, v)| (k, v.into_iter().collect()))
                    .collect(),
            )
        })
    }
    let condition = st.condition.as_ref().and_then(|c| {
        let c: BTreeMap<_, BTreeMap<_, Vec<Value>>> = c
            .iter()
            .filter(|(_, keys)| !keys.is_empty())
            .map(|(op, keys)| {
                let keys = keys
                    .iter()
                    .map(|(k, vals)| {
                        let mut vals = vals.clone();
                        vals.sort_by_key(condition_value_text);
                        vals.dedup_by(|a, b| condition_value_text(a) == condition_value_text(b));
                        (k.clone(), vals)
                    })
                    .collect();
                (op.clone(), keys)
            })
            .collect();
        (!c.is_empty()).then_some(c)
    });
    Statement {
        sid: st.sid().map(str::to_string),
        effect: st.effect,
        principal: principal(&st.principal),
        not_principal: principal(&st.not_principal),
        action: sorted(&st.action, true),
        not_action: sorted(&st.not_action, true),
        resource: sorted(&st.resource, false),
        not_resource: sorted(&st.not_resource, false),
        condition,
    }
}

/// Canonical pretty JSON of a whole document, for display: statements in canonical order.
pub fn display_document(doc: &PolicyDocument) -> PolicyDocument {
    let mut statements: Vec<Statement> = doc.statements.iter().map(display_statement).collect();
    statements.sort_by_cached_key(CanonicalStatement::of);
    statements.dedup_by(|a, b| statements_equivalent(a, b));
    PolicyDocument {
        version: doc.version.clone(),
        id: None,
        statements,
    }
}

/// Pretty JSON of the display form.
pub fn pretty(doc: &PolicyDocument) -> String {
    display_document(doc).to_pretty()
}

/// Pretty JSON of one statement's display form.
pub fn pretty_statement(st: &Statement) -> String {
    serde_json::to_string_pretty(&display_statement(st).to_value())
        .expect("a Value always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> PolicyDocument {
        PolicyDocument::parse(text).unwrap()
    }

    const BASE: &str = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"s3wardRead","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},
         "Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],
         "Condition":{"StringLike":{"s3:prefix":["a/*","b/*"]}}},
        {"Sid":"Public","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/pub/*"}]}"#;

    #[test]
    fn equivalent_forms_are_equal() {
        let same = r#"{"Statement":[
            {"Resource":"arn:aws:s3:::b/pub/*","Action":["S3:getobject"],"Principal":{"AWS":["*"]},"Effect":"allow","Sid":"Public"},
            {"Sid":"s3wardRead","Effect":"ALLOW","Principal":{"AWS":["111111111111"]},
             "Action":["s3:listbucket","s3:GetObject","s3:GetObject"],"Resource":["arn:aws:s3:::b/*","arn:aws:s3:::b"],
             "Condition":{"StringLike":{"S3:Prefix":["b/*","a/*"]}}}],
            "Version":"2012-10-17","Id":"ignored"}"#;
        assert!(equivalent(&doc(BASE), &doc(same)));
        // Display keeps action names and condition keys as written.
        assert_eq!(
            pretty(&doc(BASE)).to_lowercase(),
            pretty(&doc(same)).to_lowercase()
        );
    }

    #[test]
    fn different_grants_are_not_equal() {
        let base = doc(BASE);
        let variants = [
            BASE.replace("\"s3:GetObject\",\"s3:ListBucket\"", "\"s3:GetObject\""),
            BASE.replace("arn:aws:s3:::b/pub/*", "arn:aws:s3:::b/*"),
            BASE.replace(
                "\"Sid\":\"Public\",\"Effect\":\"Allow\"",
                "\"Sid\":\"Public\",\"Effect\":\"Deny\"",
            ),
            BASE.replace("s3wardRead", "s3wardReadAll"),
            BASE.replace("111111111111", "222222222222"),
            BASE.replace("\"a/*\",\"b/*\"", "\"a/*\""),
            BASE.replace("StringLike", "StringEquals"),
            BASE.replace("\"Principal\":\"*\"", "\"Principal\":{\"Service\":\"*\"}"),
        ];
        for v in &variants {
            assert_ne!(&BASE, v, "variant did not change the text");
            assert!(!equivalent(&base, &doc(v)), "{v}");
        }
    }

    #[test]
    fn case_only_differences_in_values_are_changes() {
        let base = doc(BASE);
        // What IAM compares case-sensitively: resources, principals, condition values, Sids.
        let variants = [
            BASE.replace("arn:aws:s3:::b/pub/*", "arn:aws:s3:::b/PUB/*"),
            BASE.replace(
                "arn:aws:iam::111111111111:root",
                "arn:aws:iam::111111111111:ROOT",
            ),
            BASE.replace("\"a/*\",\"b/*\"", "\"A/*\",\"b/*\""),
            BASE.replace("s3wardRead", "s3wardread"),
        ];
        for v in &variants {
            assert_ne!(&BASE, v, "variant did not change the text");
            assert!(!equivalent(&base, &doc(v)), "{v}");
            // And the display form shows the difference.
            assert_ne!(pretty(&base), pretty(&doc(v)), "{v}");
        }
        // Two resources that differ only in case are two resources, also when shown.
        let two = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws:s3:::b/Models/*","arn:aws:s3:::b/models/*"]}]}"#,
        );
        let one = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws:s3:::b/models/*"]}]}"#,
        );
        assert!(!equivalent(&two, &one));
        let shown = pretty(&two);
        assert!(
            shown.contains("arn:aws:s3:::b/Models/*") && shown.contains("arn:aws:s3:::b/models/*"),
            "{shown}"
        );
        assert_ne!(pretty(&two), pretty(&one));
    }

    #[test]
    fn condition_keys_differing_in_case_are_two_keys() {
        let cond = |c: &str| {
            doc(&format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{{"StringEquals":{c}}}}}]}}"#
            ))
        };
        // Two keys: IAM requires both. One key with both values: either suffices.
        let two_keys = cond(r#"{"aws:PrincipalTag/team":"a","aws:principaltag/team":"b"}"#);
        let one_key = cond(r#"{"aws:PrincipalTag/team":["a","b"]}"#);
        assert!(!equivalent(&two_keys, &one_key));
        let shown = pretty(&two_keys);
        assert!(
            shown.contains("aws:PrincipalTag/team") && shown.contains("aws:principaltag/team"),
            "{shown}"
        );
        // One key in another case is the same key.
        assert!(equivalent(
            &one_key,
            &cond(r#"{"AWS:PRINCIPALTAG/TEAM":["b","a"]}"#)
        ));
        // Two spellings, written in any case and order, are still the same two keys.
        assert!(equivalent(
            &two_keys,
            &cond(r#"{"aws:principaltag/TEAM":"b","AWS:PrincipalTag/Team":"a"}"#)
        ));
        assert!(!equivalent(
            &two_keys,
            &cond(r#"{"aws:principaltag/TEAM":"a","AWS:PrincipalTag/Team":"a"}"#)
        ));
    }

    #[test]
    fn versions_are_equal_without_policy_variables() {
        let with = |version: &str, resource: &str| {
            doc(&format!(
                r#"{{{version}"Statement":[{{"Effect":"Allow","Principal":{{"AWS":"111111111111"}},"Action":"s3:GetObject","Resource":"{resource}"}}]}}"#
            ))
        };
        let plain = "arn:aws:s3:::b/*";
        let variable = "arn:aws:s3:::b/${aws:username}/*";
        let new = r#""Version":"2012-10-17","#;
        let old = r#""Version":"2008-10-17","#;
        // Without `${`, 2008-10-17, 2012-10-17 and no Version grant the same, both ways.
        for (a, b) in [(old, new), (new, old), ("", new), (new, ""), (old, "")] {
            assert!(equivalent(&with(a, plain), &with(b, plain)), "{a} {b}");
            assert!(
                crate::policy::diff::diff(Some(&with(a, plain)), Some(&with(b, plain))).is_empty()
            );
        }
        // With `${`, 2008-10-17 reads it as text and 2012-10-17 as a variable.
        for (a, b) in [(old, new), (new, old), ("", new), (new, "")] {
            assert!(
                !equivalent(&with(a, variable), &with(b, variable)),
                "{a} {b}"
            );
            assert!(
                !crate::policy::diff::diff(Some(&with(a, variable)), Some(&with(b, variable)))
                    .is_empty()
            );
        }
        assert!(equivalent(&with(old, variable), &with("", variable)));
        assert!(equivalent(&with(new, variable), &with(new, variable)));
    }

    #[test]
    fn condition_scalars_compare_as_text() {
        let a = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":false},"NumericGreaterThan":{"aws:MultiFactorAuthAge":3600}}}]}"#,
        );
        let b = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"},"NumericGreaterThan":{"aws:MultiFactorAuthAge":["3600"]}}}]}"#,
        );
        assert!(equivalent(&a, &b));
    }

    #[test]
    fn empty_sid_and_empty_condition_are_absent() {
        let a = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{}}]}"#,
        );
        let b = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        );
        assert!(equivalent(&a, &b));
    }

    #[test]
    fn display_is_stable_and_reparses() {
        let d = doc(BASE);
        let p = pretty(&d);
        assert!(equivalent(&d, &doc(&p)));
        assert_eq!(pretty(&doc(&p)), p);
        assert!(p.contains("arn:aws:iam::111111111111:root"));
    }
}

#[cfg(test)]
mod corpus {
    //! Real-world policies (tests/corpus, sources in tests/corpus/SOURCES.md): each parses,
    //! canonicalises, and survives display and IAM's URL encoding unchanged in meaning.
    use super::*;

    fn corpus() -> Vec<(String, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
        let mut out = Vec::new();
        for kind in ["bucket", "trust", "identity"] {
            for entry in std::fs::read_dir(root.join(kind)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "json") {
                    out.push((
                        format!("{kind}/{}", path.file_name().unwrap().to_string_lossy()),
                        std::fs::read_to_string(&path).unwrap(),
                    ));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn every_corpus_policy_parses_and_round_trips() {
        let all = corpus();
        assert!(all.len() >= 25, "corpus has {} files", all.len());
        for (name, text) in all {
            let doc = PolicyDocument::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!doc.statements.is_empty(), "{name}");
            // Writing it back (compact, as s3ward sends it) keeps the meaning.
            let again = PolicyDocument::parse(&doc.to_json()).unwrap();
            assert!(equivalent(&doc, &again), "{name}: compact form differs");
            // The display form keeps the meaning and is a fixed point.
            let shown = pretty(&doc);
            let reparsed = PolicyDocument::parse(&shown).unwrap();
            assert!(equivalent(&doc, &reparsed), "{name}: display form differs");
            assert_eq!(pretty(&reparsed), shown, "{name}");
            // IAM hands documents back URL-encoded.
            let encoded =
                percent_encoding::utf8_percent_encode(&text, percent_encoding::NON_ALPHANUMERIC)
                    .to_string();
            let decoded = PolicyDocument::parse(&encoded).unwrap();
            assert!(
                equivalent(&doc, &decoded),
                "{name}: URL-encoded form differs"
            );
        }
    }
}
