//! Checking an imported plan file the way `plan` would, and what to do about what differs.
//!
//! [`verify`] resolves the text with the real plan-file resolver (with
//! `--allow-self-lockout` only when it is needed) and diffs it against the same live state
//! with the real `diff`. [`undo`] records in [`Choices`] what the next build must leave raw
//! so that a change goes away; [`explain`] words a change that cannot go away as a
//! [`Note`]. Pure: the live state is what [`import`](super::import) was given, and nothing
//! here builds or writes the plan file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::keys::Keys;
use super::{Input, Note};
use crate::change::{Action, Address, Change};
use crate::desired::GRANTS_POLICY_NAME;
use crate::diff::{self, Context};
use crate::plan_file::{self, Report};
use crate::policy::canonical::effective_version;
use crate::state::Live;

/// What an earlier verification round decided to undo.
#[derive(Clone, Debug, Default)]
pub(super) struct Choices {
    /// Buckets (by index) whose whole policy stays raw.
    pub(super) all_extras: BTreeSet<usize>,
    /// Roles (by index) that grants must not name.
    pub(super) no_grants_to: BTreeSet<usize>,
    /// Roles (by index) whose trust stays raw.
    pub(super) raw_trust: BTreeSet<usize>,
    /// Imported keys (by ARN) that buckets name by ARN, not `key.KEY` (no key side).
    pub(super) outside_keys: BTreeSet<String>,
    /// Imported keys (by ARN) whose whole policy stays raw (`authoritative`).
    pub(super) raw_keys: BTreeSet<String>,
}

pub(super) enum Verdict {
    Invalid(Box<Report>),
    Checked {
        changes: Vec<Change>,
        problems: Vec<Note>,
        self_lockout: bool,
    },
}

/// Resolves `text` as `validate` would and diffs it against the live state as `plan` would.
pub(super) fn verify(input: &Input, keys: &Keys, text: &str) -> Verdict {
    let path = Path::new("imported.toml");
    let parse = |allow_self_lockout| {
        plan_file::parse(path, text, plan_file::Options { allow_self_lockout })
    };
    let (loaded, self_lockout) = match parse(false) {
        Ok(l) => (l, false),
        Err(_) => match parse(true) {
            Ok(l) => (l, true),
            Err(report) => return Verdict::Invalid(report),
        },
    };
    let mut live = Live::default();
    let mut regions = BTreeMap::new();
    for (b, key) in input.buckets.iter().zip(&keys.buckets) {
        live.buckets.insert(key.clone(), b.live.clone());
        regions.insert(key.clone(), b.region.clone());
    }
    for (r, key) in input.roles.iter().zip(&keys.roles) {
        live.roles.insert(key.clone(), r.live.clone());
    }
    let key_names = super::kms::key_names(input, &keys.buckets);
    for (k, name) in input.keys.iter().zip(key_names) {
        live.keys.insert(name, k.live.clone());
    }
    let ctx = Context {
        regions,
        identities: input
            .accounts
            .iter()
            .zip(&keys.accounts)
            .filter_map(|(a, key)| Some((key.clone(), a.identity.clone()?)))
            .collect(),
        allow_self_lockout: self_lockout,
    };
    let cs = diff::diff(&loaded.desired, &live, &ctx);
    let problems = cs
        .problems
        .iter()
        .chain(&cs.warnings)
        .map(|p| Note {
            address: p.address.to_string(),
            message: p.message.clone(),
        })
        .collect();
    Verdict::Checked {
        changes: cs.changes,
        problems,
        self_lockout,
    }
}

/// Undoes what made `c`, when import can; `false` when it already did or cannot.
pub(super) fn undo(input: &Input, keys: &Keys, choices: &mut Choices, c: &Change) -> bool {
    match &c.address {
        Address::BucketPolicy(k) => keys.bucket(k).is_some_and(|i| choices.all_extras.insert(i)),
        Address::RoleInlinePolicy(k, name)
            if name == GRANTS_POLICY_NAME && c.action == Action::Create =>
        {
            keys.role(k).is_some_and(|i| choices.no_grants_to.insert(i))
        }
        Address::RoleTrust(k) => keys
            .role(k)
            .is_some_and(|i| input.roles[i].live.trust.is_some() && choices.raw_trust.insert(i)),
        _ => super::kms::undo(input, &keys.buckets, choices, c),
    }
}

/// The buckets that role `i`'s live `s3ward-grants` policy names and this import did not
/// read, by name, sorted.
fn buckets_not_imported(input: &Input, i: usize) -> BTreeSet<String> {
    let Some(Ok(doc)) = input.roles[i]
        .live
        .inline
        .get(GRANTS_POLICY_NAME)
        .map(|d| &d.doc)
    else {
        return BTreeSet::new();
    };
    doc.statements
        .iter()
        .flat_map(|st| st.resource.iter().flatten())
        .filter_map(|arn| arn.strip_prefix("arn:aws:s3:::"))
        .map(|rest| rest.split('/').next().unwrap_or(rest).to_string())
        .filter(|b| !b.is_empty() && input.buckets.iter().all(|i| &i.name != b))
        .collect()
}

/// Why `plan` will still show `c`.
pub(super) fn explain(input: &Input, keys: &Keys, c: &Change) -> Note {
    let address = c.address.to_string();
    let shows = format!("`s3ward plan` will show `{} {address}`", c.action.symbol());
    let message = match &c.address {
        Address::BucketPolicy(k) => {
            let live = keys
                .bucket(k)
                .and_then(|i| input.buckets[i].live.policy.present());
            match live.map(|d| &d.doc) {
                Some(Err(e)) => format!("{shows}: the live policy is not a valid document ({e})"),
                Some(Ok(doc)) if effective_version(doc) != "2012-10-17" => format!(
                    "{shows}: the live policy's `Version` is {}, which reads `${{…}}` as text, and s3ward writes bucket policies as `2012-10-17`, where `${{…}}` is a policy variable",
                    doc.version
                        .as_deref()
                        .map_or("missing".to_string(), |v| format!("`{v}`"))
                ),
                _ => shows,
            }
        }
        Address::RoleInlinePolicy(k, name) if name == GRANTS_POLICY_NAME => {
            let elsewhere = keys
                .role(k)
                .map(|i| buckets_not_imported(input, i))
                .unwrap_or_default();
            let named = if elsewhere.is_empty() {
                String::new()
            } else {
                format!(
                    " It names {} not read by this import: {}.",
                    if elsewhere.len() == 1 {
                        "a bucket"
                    } else {
                        "buckets"
                    },
                    elsewhere
                        .iter()
                        .map(|b| format!("`{b}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            // A bucket ARN does not say its account: the buckets may be in the role's
            // account or in another one, and either can be read in the same run.
            let next = "Import those buckets in the same run, each with `--bucket` after the \
                        `--account` it is in (`--account ID[:ROLE_ARN] --bucket NAME`)";
            match c.action {
                Action::Delete => format!(
                    "{shows}: no grant in the imported buckets names this role, but it has an \
                     `{GRANTS_POLICY_NAME}` policy (that name belongs to s3ward).{named} {next}"
                ),
                _ => format!(
                    "{shows}: its `{GRANTS_POLICY_NAME}` policy is not what the grants to it in \
                     the imported buckets write.{named} {next}"
                ),
            }
        }
        Address::BucketPublicAccessBlock(_) if c.action == Action::Create => format!(
            "{shows}: the bucket policy is public and the bucket has no public access block; \
             s3ward needs `block_public_access = false` to accept a public policy, so plan \
             creates a block with every flag off (which changes no access)"
        ),
        _ => shows,
    };
    Note { address, message }
}
