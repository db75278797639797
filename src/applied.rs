//! The `s3ward:applied` record, and the drift kind read from it (one home for both).
//!
//! After an apply, s3ward tags each resource it changed with `s3ward:applied`: a short digest
//! per managed setting (`policy=1a2b3c4d tags=…`) of the state it left. `drift` compares
//! the digest recorded with the digest of what AWS has now: different means AWS moved away
//! from what s3ward applied ([`DriftKind::Drift`]); the same, or nothing recorded, means the
//! plan file asks for something never applied ([`DriftKind::Pending`]).
//!
//! This module owns the record's shape ([`AppliedRecord`], [`Recorded`]), its tag value
//! (printed and parsed here only), when a resource needs a new record, how a targeted apply
//! narrows one, and how a difference is classified. It does not compute digests from a plan
//! file or a live state (each resource's diff in `diff/` does, in the same canonical terms
//! as its comparison), does not talk to AWS (`apply::writes` sends the tag), and does not
//! decide what is shown (renderers choose whether to print a kind).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The key of the tag that holds the record (reserved: a plan file may not declare it).
pub const APPLIED_TAG: &str = "s3ward:applied";

/// Setting name → short digest. Computed from the desired state (what apply writes) or from
/// the live state, in the same canonical terms, so that the two are equal exactly when the
/// setting is in sync.
pub type Digests = BTreeMap<&'static str, String>;

/// The short digest of one setting's canonical text: 8 hex digits (tag values are short).
pub fn digest(input: &str) -> String {
    hex::encode(&Sha256::digest(input.as_bytes())[..4])
}

/// Whether AWS moved away from what s3ward applied, or the plan file asks for something
/// never applied. Known for every change (a resource s3ward never applied to is pending);
/// only `drift` prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DriftKind {
    Drift,
    Pending,
}

/// What a resource's `s3ward:applied` tag says now: setting → digest (empty without a tag).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recorded(BTreeMap<String, String>);

impl Recorded {
    /// Reads a tag value (`policy=1a2b3c4d tags=…`); `None` (no tag) records nothing.
    pub fn parse(tag: Option<&str>) -> Recorded {
        Recorded(
            tag.unwrap_or_default()
                .split_whitespace()
                .filter_map(|p| p.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// Setting → digest, as recorded.
    pub fn digests(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// Whether the record says exactly what s3ward would record now. When it does not (no
    /// tag yet, say after `import`), apply records it even with nothing to change, so that
    /// later differences read as drift rather than pending.
    pub fn says(&self, want: &Digests) -> bool {
        self.0.len() == want.len() && want.iter().all(|(k, v)| self.0.get(*k) == Some(v))
    }

    /// The kind of a difference in `setting` (`None`: not a recorded setting, such as the
    /// creation of the resource), given the `live` digests: drift when s3ward applied this
    /// setting and AWS no longer has what it applied; pending when AWS still has it (the plan
    /// file changed) or s3ward never applied it.
    pub fn kind(&self, live: &Digests, setting: Option<&str>) -> DriftKind {
        let Some(setting) = setting else {
            return DriftKind::Pending;
        };
        match (self.0.get(setting), live.get(setting)) {
            (Some(a), Some(l)) if a != l => DriftKind::Drift,
            _ => DriftKind::Pending,
        }
    }
}

/// The `s3ward:applied` record apply writes for one resource once its changes succeed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedRecord {
    /// Setting → digest of the state the apply leaves.
    pub digests: BTreeMap<String, String>,
    /// Setting → digest in the resource's tag now, kept for the settings that a targeted
    /// apply leaves alone.
    #[serde(default)]
    pub previous: BTreeMap<String, String>,
}

impl AppliedRecord {
    /// The record of `digests`, replacing what the resource's tag holds now (`previous`).
    pub fn new(digests: Digests, previous: Recorded) -> AppliedRecord {
        AppliedRecord {
            digests: digests
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            previous: previous.0,
        }
    }

    /// The tag value: `policy=1a2b3c4d tags=...` (letters, digits, `=` and spaces).
    pub fn tag_value(&self) -> String {
        self.digests
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// For an apply that targets only `settings` of the resource: records those as applied
    /// and keeps the rest of the previous record, so that what was left out still reads as
    /// never applied.
    pub fn narrow_to(&mut self, settings: &[&str]) {
        let mut digests = self.previous.clone();
        for s in settings {
            match self.digests.get(*s) {
                Some(d) => digests.insert(s.to_string(), d.clone()),
                None => digests.remove(*s),
            };
        }
        self.digests = digests;
    }
}

/// The tag value recording `digests` (as a first apply writes it).
pub fn tag_value(digests: &Digests) -> String {
    AppliedRecord::new(digests.clone(), Recorded::default()).tag_value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_value_reads_back() {
        let d = Digests::from([("policy", digest("a")), ("tags", digest("b"))]);
        let tag = tag_value(&d);
        assert_eq!(tag, format!("policy={} tags={}", digest("a"), digest("b")));
        assert!(Recorded::parse(Some(&tag)).says(&d));
        assert!(!Recorded::parse(None).says(&d));
    }

    #[test]
    fn drift_only_where_what_was_applied_changed() {
        let applied = Recorded::parse(Some("policy=1 tags=2"));
        let live = Digests::from([("policy", "9".into()), ("tags", "2".into())]);
        assert_eq!(applied.kind(&live, Some("policy")), DriftKind::Drift);
        assert_eq!(applied.kind(&live, Some("tags")), DriftKind::Pending);
        assert_eq!(applied.kind(&live, Some("acl")), DriftKind::Pending);
        assert_eq!(applied.kind(&live, None), DriftKind::Pending);
    }
}
