//! Saved plans (`plan --out FILE`, `apply --saved FILE`).
//!
//! A saved plan holds the change set exactly as reviewed, the plan file's text and SHA-256,
//! the targets, and a fingerprint of every live setting read. `apply --saved` refuses when
//! the plan file on disk no longer has that hash or any live fingerprint differs ("saved plan
//! is stale"), naming what changed; otherwise it applies exactly the saved changes. Once
//! applied, the live settings differ from their fingerprints, so the same saved plan is stale.
//!
//! A saved plan is a file that travels (a CI artifact), so it is never trusted blindly.
//! `apply --saved` refuses, in this order:
//!
//! 1. "does not match its plan file" when the embedded plan-file text does not have the
//!    embedded SHA-256 ([`SavedPlan::text_mismatch`]). Checked first, before any AWS call:
//!    no honest change can cause it, and an altered file should not even take the lock.
//! 2. "is stale" when the plan file at its recorded path or a live fingerprint changed
//!    ([`stale_reasons`]), after the re-read under the lock.
//! 3. "does not match its plan file" when `--plan-file PATH` does not hold the embedded
//!    text ([`SavedPlan::plan_file_mismatch`]), or when the change set derived again from
//!    that text, the saved targets and `allow_self_lockout`, and the live settings just
//!    re-read is not exactly the saved one ([`change_set_differences`]).
//!
//! Why stale before "does not match": a change in AWS, or in the plan file on disk, also
//! changes what is derived again (and, in CI, `--plan-file` is the recorded plan file
//! itself), and "stale, plan again" is what the person needs to hear then. Only what no
//! honest change produces says "does not match": the saved file was altered, or was made
//! from another plan file than the one given.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::change::{ChangeSet, Resource};
use crate::error::Error;

pub const FORMAT: &str = "s3ward-saved-plan";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format: String,
    pub format_version: u32,
    pub s3ward_version: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub plan_file: SavedPlanFile,
    #[serde(default)]
    pub targets: Vec<String>,
    #[serde(default)]
    pub allow_self_lockout: bool,
    pub fingerprints: BTreeMap<String, String>,
    pub change_set: ChangeSet,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SavedPlanFile {
    /// As given to `plan` (relative paths stay relative to where `apply` runs).
    pub path: PathBuf,
    pub sha256: String,
    pub text: String,
}

impl SavedPlan {
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        let text = serde_json::to_string_pretty(self).expect("a saved plan serialises");
        // Write beside, then rename: a reader never sees half a file.
        let tmp = path.with_extension("s3ward-tmp");
        std::fs::write(&tmp, text + "\n")
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|source| Error::WriteFile {
                path: path.to_path_buf(),
                source,
            })
    }

    pub fn read(path: &Path) -> Result<SavedPlan, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ReadSaved {
            path: path.to_path_buf(),
            reason: source.to_string(),
        })?;
        let saved: SavedPlan = serde_json::from_str(&text).map_err(|e| Error::ReadSaved {
            path: path.to_path_buf(),
            reason: format!("not a saved plan: {e}"),
        })?;
        if saved.format != FORMAT || saved.format_version != FORMAT_VERSION {
            return Err(Error::ReadSaved {
                path: path.to_path_buf(),
                reason: format!(
                    "format `{}` version {} is not one this s3ward reads ({FORMAT} version {FORMAT_VERSION})",
                    saved.format, saved.format_version
                ),
            });
        }
        Ok(saved)
    }
}

impl SavedPlan {
    /// Why the embedded plan-file text cannot be trusted: it does not have its recorded
    /// SHA-256. `saved_path` is the saved plan's own file.
    pub fn text_mismatch(&self, saved_path: &Path) -> Option<String> {
        (sha256_hex(&self.plan_file.text) != self.plan_file.sha256).then(|| {
            format!(
                "the plan-file text in `{}` does not have the SHA-256 recorded with it",
                saved_path.display()
            )
        })
    }

    /// Why `path` (`--plan-file`), holding `text`, is not the plan file this saved plan
    /// (at `saved_path`) was made from.
    pub fn plan_file_mismatch(&self, saved_path: &Path, path: &Path, text: &str) -> Option<String> {
        (text != self.plan_file.text).then(|| {
            format!(
                "`{}` (--plan-file) does not hold the text of `{}`, the plan file that `{}` was made from",
                path.display(),
                self.plan_file.path.display(),
                saved_path.display()
            )
        })
    }
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Where a saved change set differs from the one derived again (both as `plan --out` saves
/// them); empty when they are the same. Compared as JSON, as the saved plan holds them, so
/// that a value's absence and its `null` are one thing on both sides.
pub fn change_set_differences(saved: &ChangeSet, derived: &ChangeSet) -> Vec<String> {
    let json = |cs: &ChangeSet| serde_json::to_value(cs).expect("a change set serialises");
    if json(saved) == json(derived) {
        return Vec::new();
    }
    let by_address = |cs: &ChangeSet| {
        let mut m: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for c in &cs.changes {
            m.entry(c.address.to_string())
                .or_default()
                .push(serde_json::to_value(c).expect("a change serialises"));
        }
        m
    };
    let (s, d) = (by_address(saved), by_address(derived));
    let mut out = Vec::new();
    for addr in s.keys().chain(d.keys().filter(|a| !s.contains_key(*a))) {
        match (s.get(addr), d.get(addr)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(_), Some(_)) => out.push(format!("the change to `{addr}` differs")),
            (Some(_), None) => {
                out.push(format!("`{addr}` has a change its plan file does not give"))
            }
            (None, _) => out.push(format!(
                "the change to `{addr}` that its plan file gives is missing"
            )),
        }
    }
    let records = |cs: &ChangeSet| serde_json::to_value(&cs.applied).expect("records serialise");
    if out.is_empty() && records(saved) != records(derived) {
        let keys: std::collections::BTreeSet<&Resource> =
            saved.applied.keys().chain(derived.applied.keys()).collect();
        for k in keys {
            if saved.applied.get(k) != derived.applied.get(k) {
                out.push(format!("the `s3ward:applied` record of `{k}` differs"));
            }
        }
    }
    if out.is_empty() {
        // Same changes and records: their order, the problems or the warnings differ.
        out.push("the change set differs (order, problems or warnings)".into());
    }
    out
}

/// What made a saved plan stale: addresses whose live fingerprint changed, and whether the
/// plan file changed.
pub fn stale_reasons(
    saved: &SavedPlan,
    plan_file_sha256: Option<&str>,
    now: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut out = Vec::new();
    match plan_file_sha256 {
        None => out.push(format!(
            "the plan file `{}` is missing",
            saved.plan_file.path.display()
        )),
        Some(h) if h != saved.plan_file.sha256 => out.push(format!(
            "the plan file `{}` changed since the plan was saved",
            saved.plan_file.path.display()
        )),
        Some(_) => {}
    }
    for (addr, fp) in &saved.fingerprints {
        match now.get(addr) {
            Some(n) if n == fp => {}
            Some(_) => out.push(format!("`{addr}` changed in AWS")),
            None => out.push(format!("`{addr}` was not read again")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::applied::{AppliedRecord, DriftKind};
    use crate::change::{Action, Address, Change, Write};
    use serde_json::json;

    fn policy(bucket: &str, text: &str) -> Change {
        let mut c = Change::new(
            Address::BucketPolicy(bucket.into()),
            Action::Update,
            Write::PutBucketPolicy {
                bucket: bucket.into(),
                policy: text.into(),
                merge: None,
            },
        );
        c.after = Some(json!({"Statement": []}));
        c
    }

    fn change_set() -> ChangeSet {
        ChangeSet {
            changes: vec![policy("m", r#"{"Statement":[]}"#)],
            applied: BTreeMap::from([(
                Resource::Bucket("m".into()),
                AppliedRecord {
                    digests: BTreeMap::from([("policy".into(), "1a2b".into())]),
                    previous: BTreeMap::new(),
                },
            )]),
            ..ChangeSet::default()
        }
    }

    #[test]
    fn the_same_change_set_has_no_differences() {
        assert!(change_set_differences(&change_set(), &change_set()).is_empty());
        // As read back from a saved plan: an absent `before` and a `null` one are alike.
        let mut read_back = change_set();
        read_back.changes[0].before = Some(Value::Null);
        assert!(change_set_differences(&read_back, &change_set()).is_empty());
    }

    #[test]
    fn the_drift_kind_is_not_saved() {
        let mut drifted = change_set();
        drifted.changes[0].kind = DriftKind::Drift;
        let saved = serde_json::to_value(&drifted).unwrap();
        assert!(saved["changes"][0].get("kind").is_none(), "{saved:#}");
        assert_eq!(saved["applied"]["bucket.m"]["digests"]["policy"], "1a2b");
        assert!(change_set_differences(&drifted, &change_set()).is_empty());
    }

    #[test]
    fn an_altered_write_an_added_change_and_an_altered_record_are_named() {
        let derived = change_set();
        let mut saved = change_set();
        saved.changes[0].write = Write::PutBucketPolicy {
            bucket: "m".into(),
            policy: r#"{"Statement":[{"Effect":"Allow","Principal":"*"}]}"#.into(),
            merge: None,
        };
        assert_eq!(
            change_set_differences(&saved, &derived),
            vec!["the change to `bucket.m.policy` differs".to_string()]
        );

        let mut saved = change_set();
        saved.changes.push(policy("other", "{}"));
        assert_eq!(
            change_set_differences(&saved, &derived),
            vec!["`bucket.other.policy` has a change its plan file does not give".to_string()]
        );
        assert_eq!(
            change_set_differences(&derived, &saved),
            vec![
                "the change to `bucket.other.policy` that its plan file gives is missing"
                    .to_string()
            ]
        );

        let mut saved = change_set();
        saved
            .applied
            .get_mut(&Resource::Bucket("m".into()))
            .unwrap()
            .digests
            .insert("policy".into(), "ffff".into());
        assert_eq!(
            change_set_differences(&saved, &derived),
            vec!["the `s3ward:applied` record of `bucket.m` differs".to_string()]
        );

        let mut saved = change_set();
        saved.warnings.push(crate::change::Problem {
            address: Address::Bucket("m".into()),
            message: "x".into(),
            hint: None,
            place: None,
        });
        assert_eq!(change_set_differences(&saved, &derived).len(), 1);
    }

    #[test]
    fn embedded_text_must_have_its_sha256_and_match_the_given_plan_file() {
        let mut s = saved();
        s.plan_file.text = "version = 1\n".into();
        s.plan_file.sha256 = sha256_hex(&s.plan_file.text);
        let at = Path::new("p.json");
        assert_eq!(s.text_mismatch(at), None);
        assert_eq!(
            s.plan_file_mismatch(at, Path::new("merged.toml"), "version = 1\n"),
            None
        );
        assert_eq!(
            s.plan_file_mismatch(at, Path::new("merged.toml"), "version = 1\n# more\n"),
            Some("`merged.toml` (--plan-file) does not hold the text of `plans/x.toml`, the plan file that `p.json` was made from".to_string())
        );
        s.plan_file.text.push_str("[settings]\n");
        assert_eq!(
            s.text_mismatch(at),
            Some(
                "the plan-file text in `p.json` does not have the SHA-256 recorded with it"
                    .to_string()
            )
        );
    }

    fn saved() -> SavedPlan {
        SavedPlan {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            s3ward_version: "0".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            plan_file: SavedPlanFile {
                path: "plans/x.toml".into(),
                sha256: "abc".into(),
                text: String::new(),
            },
            targets: vec![],
            allow_self_lockout: false,
            fingerprints: BTreeMap::from([
                ("bucket.m.policy".to_string(), "1".to_string()),
                ("role.r".to_string(), "2".to_string()),
            ]),
            change_set: ChangeSet::default(),
        }
    }

    #[test]
    fn fresh_when_nothing_changed() {
        let s = saved();
        assert!(stale_reasons(&s, Some("abc"), &s.fingerprints).is_empty());
    }

    #[test]
    fn names_what_changed() {
        let s = saved();
        let mut now = s.fingerprints.clone();
        now.insert("bucket.m.policy".into(), "9".into());
        let r = stale_reasons(&s, Some("def"), &now);
        assert_eq!(
            r,
            vec![
                "the plan file `plans/x.toml` changed since the plan was saved".to_string(),
                "`bucket.m.policy` changed in AWS".to_string()
            ]
        );
        assert_eq!(stale_reasons(&s, None, &now).len(), 2);
    }

    #[test]
    fn round_trips_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plan.json");
        saved().write(&p).unwrap();
        let back = SavedPlan::read(&p).unwrap();
        assert_eq!(back.fingerprints, saved().fingerprints);
        std::fs::write(&p, "{}").unwrap();
        assert!(SavedPlan::read(&p).is_err());
    }
}
