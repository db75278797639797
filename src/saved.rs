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

use crate::applied::APPLIED_TAG;
use crate::change::{ChangeSet, Resource};
use crate::error::Error;
use crate::state::Live;

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
    /// The tags read, by resource ([`live_tags`]); absent from saved plans of older s3ward.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub live_tags: BTreeMap<String, BTreeMap<String, String>>,
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
            reason: not_a_saved_plan(&e),
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

/// Why a file is not a saved plan, in the reader's words rather than the JSON parser's.
fn not_a_saved_plan(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => format!(
            "it ends at line {}, in the middle of the plan: it was cut off while being \
             written or copied",
            e.line()
        ),
        Category::Syntax => format!(
            "it is not JSON (line {}, column {}), and a saved plan is the JSON file that \
             `s3ward plan --out` writes",
            e.line(),
            e.column()
        ),
        Category::Data | Category::Io => {
            format!("it is JSON but not a saved plan from `s3ward plan --out` ({e})")
        }
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

/// The tags read of every resource, by resource (`bucket.KEY`, `role.KEY`): kept in the
/// saved plan so that a stale one can say which tag changed, not only that one did.
pub fn live_tags(live: &Live) -> BTreeMap<String, BTreeMap<String, String>> {
    // A bucket without tags reads as `Absent`: no tags, the same as an empty set.
    let buckets = live.buckets.iter().filter(|(_, b)| b.exists).map(|(k, b)| {
        let tags = b.tags.present().cloned().unwrap_or_default();
        (Resource::Bucket(k.clone()).to_string(), tags)
    });
    let roles = live
        .roles
        .iter()
        .filter(|(_, r)| r.exists)
        .map(|(k, r)| (Resource::Role(k.clone()).to_string(), r.tags.clone()));
    let keys = live
        .keys
        .iter()
        .map(|(k, key)| (Resource::Key(k.clone()).to_string(), key.tags.clone()));
    buckets.chain(roles).chain(keys).collect()
}

/// Why `apply --saved` refuses although the saved plan's own text is sound.
#[derive(Debug, PartialEq, Eq)]
pub enum Stale {
    /// Every live change is this saved plan's own apply: the resources named carry exactly
    /// the `s3ward:applied` record it writes, and the plan file did not change.
    Applied(Vec<String>),
    /// Someone (or another plan) changed AWS or the plan file: what changed, in words.
    Changed(Vec<String>),
}

/// What made a saved plan stale, read against `live` (read again under the lock), or `None`
/// when nothing did.
///
/// A resource that carries the `s3ward:applied` record this saved plan writes was applied by
/// it: s3ward tells its own writes from others' by that record, so re-applying an applied
/// plan says so rather than "changed in AWS". A resource that was created or deleted is
/// named once, not by every setting it has (a bucket that did not exist was read as absent
/// in settings the plan file does not manage). Tags changes name the tags.
pub fn stale_reasons(
    saved: &SavedPlan,
    plan_file_sha256: Option<&str>,
    live: &Live,
) -> Option<Stale> {
    let now = live.fingerprints();
    let mut changed = Vec::new();
    match plan_file_sha256 {
        None => changed.push(format!(
            "the plan file `{}` is missing",
            saved.plan_file.path.display()
        )),
        Some(h) if h != saved.plan_file.sha256 => changed.push(format!(
            "the plan file `{}` changed since the plan was saved",
            saved.plan_file.path.display()
        )),
        Some(_) => {}
    }
    // Changed addresses, by the resource they belong to (`bucket.KEY` of `bucket.KEY.acl`).
    let mut by_resource: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (addr, fp) in &saved.fingerprints {
        if now.get(addr) != Some(fp) {
            let resource = addr.splitn(3, '.').take(2).collect::<Vec<_>>().join(".");
            by_resource.entry(resource).or_default().push(addr);
        }
    }
    let mut applied = Vec::new();
    for (resource, addrs) in by_resource {
        let Some(res) = resource_of(&resource) else {
            changed.extend(addrs.iter().map(|a| format!("`{a}` changed in AWS")));
            continue;
        };
        if carries_record_of(saved, live, &res) {
            applied.push(resource);
            continue;
        }
        if let Some(exists) = existence_changed(saved, live, &res, &addrs) {
            let what = if exists { "created" } else { "deleted" };
            let was = if exists { "did not exist" } else { "existed" };
            changed.push(format!(
                "`{resource}` was {what} in AWS (it {was} when the plan was saved)"
            ));
            continue;
        }
        for addr in addrs {
            changed.push(describe(saved, live, &res, addr));
        }
    }
    if changed.is_empty() && !applied.is_empty() {
        return Some(Stale::Applied(applied));
    }
    changed.extend(applied.into_iter().map(|r| {
        format!("this saved plan was already applied to `{r}` (it carries the `s3ward:applied` record the plan writes)")
    }));
    (!changed.is_empty()).then_some(Stale::Changed(changed))
}

fn resource_of(s: &str) -> Option<Resource> {
    match s.split_once('.')? {
        ("bucket", k) => Some(Resource::Bucket(k.to_string())),
        ("role", k) => Some(Resource::Role(k.to_string())),
        ("key", k) => Some(Resource::Key(k.to_string())),
        _ => None,
    }
}

/// Whether the resource exists now, when that changed since the plan was saved: for a
/// bucket, its `bucket.KEY` fingerprint is its existence; for a role, the saved tags hold an
/// entry exactly for the roles that existed.
fn existence_changed(
    saved: &SavedPlan,
    live: &Live,
    res: &Resource,
    addrs: &[&str],
) -> Option<bool> {
    let own = res.to_string();
    if !addrs.contains(&own.as_str()) {
        return None;
    }
    match res {
        Resource::Bucket(k) => live.buckets.get(k).map(|b| b.exists),
        Resource::Role(k) => {
            let now = live.roles.get(k).is_some_and(|r| r.exists);
            (!saved.live_tags.is_empty() && saved.live_tags.contains_key(&own) != now)
                .then_some(now)
        }
        // s3ward never creates or deletes a key: a key is there or the read failed.
        Resource::Key(_) => None,
    }
}

fn tags_now(live: &Live, res: &Resource) -> Option<BTreeMap<String, String>> {
    match res {
        Resource::Bucket(k) => live
            .buckets
            .get(k)
            .filter(|b| b.exists)
            .map(|b| b.tags.present().cloned().unwrap_or_default()),
        Resource::Role(k) => live
            .roles
            .get(k)
            .filter(|r| r.exists)
            .map(|r| r.tags.clone()),
        Resource::Key(k) => live.keys.get(k).map(|key| key.tags.clone()),
    }
}

/// Whether the resource carries, now, exactly the `s3ward:applied` record that this saved
/// plan writes to it.
fn carries_record_of(saved: &SavedPlan, live: &Live, res: &Resource) -> bool {
    let Some(record) = saved.change_set.applied.get(res) else {
        return false;
    };
    let before = saved
        .live_tags
        .get(&res.to_string())
        .and_then(|t| t.get(APPLIED_TAG));
    let now = tags_now(live, res);
    let now = now.as_ref().and_then(|t| t.get(APPLIED_TAG));
    // The record was written since the plan was saved (it was not there already).
    now == Some(&record.tag_value()) && before != now
}

/// One changed address in words: the setting, and for tags which tags changed.
fn describe(saved: &SavedPlan, live: &Live, res: &Resource, addr: &str) -> String {
    let setting = match addr.rsplit_once('.').map(|(_, s)| s) {
        _ if addr == res.to_string() && matches!(res, Resource::Role(_)) => {
            "the role's path, description, session duration or tags"
        }
        // Before the last `.`: a service account name may hold one.
        _ if addr.contains(".pod_identity[") => "the pod identity association",
        Some("policy") => "the bucket policy",
        Some("acl") => "the bucket ACL",
        Some("ownership") => "object ownership",
        Some("public_access_block") => "the public access block",
        Some("tags") => "the tags",
        Some("trust") => "the trust policy",
        Some("managed_policies") => "the attached managed policies",
        Some("inline_policies") => "the inline policies",
        _ => "a setting",
    };
    let tags_read =
        matches!(res, Resource::Role(_)) && addr == res.to_string() || addr.ends_with(".tags");
    let tag_changes = match (saved.live_tags.get(&res.to_string()), tags_now(live, res)) {
        (Some(before), Some(now)) if tags_read => tag_changes(before, &now),
        _ => Vec::new(),
    };
    if tag_changes.is_empty() {
        format!("`{addr}` ({setting}) changed in AWS")
    } else {
        format!("`{addr}` changed in AWS: {}", tag_changes.join(", "))
    }
}

/// `tag `team` added (`ml`)`, `tag `team` changed from `ml` to `infra``, `tag `team` removed`.
fn tag_changes(before: &BTreeMap<String, String>, now: &BTreeMap<String, String>) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(now.keys()).collect();
    keys.into_iter()
        .filter_map(|k| match (before.get(k), now.get(k)) {
            (None, Some(v)) => Some(format!("tag `{k}` added (`{v}`)")),
            (Some(_), None) => Some(format!("tag `{k}` removed")),
            (Some(a), Some(b)) if a != b => Some(format!("tag `{k}` changed from `{a}` to `{b}`")),
            _ => None,
        })
        .collect()
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
            live_tags: BTreeMap::new(),
            change_set: ChangeSet::default(),
        }
    }

    /// Bucket `m` with a policy and `tags`, role `r`; read as `plan` and `apply` read them.
    fn live(policy: &str, tags: &[(&str, &str)]) -> Live {
        use crate::state::{LiveBucket, LiveDocument, LiveRole, Setting};
        let mut bucket = LiveBucket::absent();
        bucket.exists = true;
        bucket.policy = Setting::Present(LiveDocument::from_text(policy));
        bucket.tags = Setting::Present(
            tags.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        let mut role = LiveRole::absent();
        role.exists = true;
        Live {
            buckets: BTreeMap::from([("m".to_string(), bucket)]),
            roles: BTreeMap::from([("r".to_string(), role)]),
            ..Live::default()
        }
    }

    const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[]}"#;
    const OTHER: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*","Principal":"*"}]}"#;

    fn saved_from(live: &Live) -> SavedPlan {
        let mut s = saved();
        s.fingerprints = live.fingerprints();
        s.live_tags = live_tags(live);
        s
    }

    fn changed(r: Option<Stale>) -> Vec<String> {
        match r {
            Some(Stale::Changed(v)) => v,
            other => panic!("not changed: {other:?}"),
        }
    }

    #[test]
    fn fresh_when_nothing_changed() {
        let l = live(POLICY, &[]);
        assert_eq!(stale_reasons(&saved_from(&l), Some("abc"), &l), None);
    }

    #[test]
    fn names_the_plan_file_and_the_setting_that_changed() {
        let s = saved_from(&live(POLICY, &[]));
        let r = changed(stale_reasons(&s, Some("def"), &live(OTHER, &[])));
        assert_eq!(
            r,
            vec![
                "the plan file `plans/x.toml` changed since the plan was saved".to_string(),
                "`bucket.m.policy` (the bucket policy) changed in AWS".to_string()
            ]
        );
        assert_eq!(
            changed(stale_reasons(&s, None, &live(POLICY, &[]))),
            vec!["the plan file `plans/x.toml` is missing".to_string()]
        );
    }

    #[test]
    fn a_tag_someone_added_is_named_with_its_value() {
        let s = saved_from(&live(POLICY, &[("team", "ml")]));
        let now = live(POLICY, &[("team", "infra"), ("cost-center", "42")]);
        let r = changed(stale_reasons(&s, Some("abc"), &now));
        insta::assert_snapshot!(r.join("\n"), @"`bucket.m.tags` changed in AWS: tag `cost-center` added (`42`), tag `team` changed from `ml` to `infra`");
    }

    #[test]
    fn a_bucket_created_since_is_named_once_not_by_settings_it_was_read_without() {
        let mut before = live(POLICY, &[]);
        before
            .buckets
            .insert("m".into(), crate::state::LiveBucket::absent());
        let s = saved_from(&before);
        let r = changed(stale_reasons(&s, Some("abc"), &live(POLICY, &[])));
        insta::assert_snapshot!(r.join("\n"), @"`bucket.m` was created in AWS (it did not exist when the plan was saved)");
    }

    #[test]
    fn a_plan_applied_since_says_it_was_applied() {
        let mut s = saved_from(&live(POLICY, &[]));
        let record = AppliedRecord {
            digests: BTreeMap::from([("policy".into(), "1a2b".into())]),
            previous: BTreeMap::new(),
        };
        let tag = record.tag_value();
        s.change_set
            .applied
            .insert(Resource::Bucket("m".into()), record);
        let applied = live(OTHER, &[(APPLIED_TAG, &tag)]);
        assert_eq!(
            stale_reasons(&s, Some("abc"), &applied),
            Some(Stale::Applied(vec!["bucket.m".into()]))
        );
        // Applied, and someone tagged the role too: both are said.
        let mut also = applied.clone();
        also.roles
            .get_mut("r")
            .unwrap()
            .tags
            .insert("x".into(), "y".into());
        insta::assert_snapshot!(changed(stale_reasons(&s, Some("abc"), &also)).join("\n"), @r"
        `role.r` changed in AWS: tag `x` added (`y`)
        this saved plan was already applied to `bucket.m` (it carries the `s3ward:applied` record the plan writes)
        ");
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
