//! Saved plans (`plan --out FILE`, `apply --saved FILE`).
//!
//! A saved plan holds the change set exactly as reviewed, the plan file's text and SHA-256,
//! the targets, and a fingerprint of every live setting read. `apply --saved` refuses when
//! the plan file on disk no longer has that hash or any live fingerprint differs ("saved plan
//! is stale"), naming what changed; otherwise it applies exactly the saved changes. Once
//! applied, the live settings differ from their fingerprints, so the same saved plan is stale.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::change::ChangeSet;
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
