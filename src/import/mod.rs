//! `s3ward import`: live buckets and roles in, a commented plan file out, written so that
//! `s3ward plan` with it prints `No changes.`.
//!
//! Pure: `app::import` reads AWS (every read through `live`) and hands the live state here;
//! nothing in this module calls AWS, and nothing is ever written there.
//!
//! Expected flow:
//!
//! 1. Choose keys. Keys are part of the statement ids s3ward wrote (`s3wardReadRoleRayList`,
//!    `s3wardModelsReadList` in a role's `s3ward-grants`), so a key is taken from those ids
//!    when they name the resource, else from its name.
//! 2. Build the plan model: buckets (policy split into grants and raw extras by [`grants`]),
//!    roles (trust as typed entries or raw by [`trust`]), accounts and principals that
//!    grants name.
//! 3. Render it ([`toml_out`]), resolve the text with the real plan-file resolver, and diff
//!    the result against the same live state with the real `diff`. Whatever still differs
//!    is undone where import can undo it (a bucket's grants back to raw statements, a
//!    role's grants when it has no `s3ward-grants`, a typed trust back to raw) and the loop
//!    runs again; what remains is reported as a [`Note`], in the file and on stderr.
//!
//! The check in step 3 is why import can promise `No changes.`: it does not trust its own
//! reading of the Sid scheme, it asks the code that `plan` runs.

mod bucket;
mod build;
pub mod grants;
mod keys;
pub mod model;
mod role;
pub mod toml_out;
pub mod trust;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::change::{Action, Address, Change};
use crate::desired::GRANTS_POLICY_NAME;
use crate::diff::{self, Context};
use crate::plan_file::{self, Report};
use crate::policy::canonical::effective_version;
use crate::policy::lint::Identity;
use crate::state::{Live, LiveBucket, LiveRole};
use bucket::policy_statements;
use build::build;
use keys::{Keys, choose_keys};

// ------------------------------------------------------------------------------------------
// Input and output

/// The live state to import, and what to call things.
#[derive(Clone, Debug)]
pub struct Input {
    /// `settings.name`.
    pub plan_name: String,
    pub account: AccountIn,
    pub buckets: Vec<BucketIn>,
    pub roles: Vec<RoleIn>,
    /// Who `plan` will run as, when known: its self-lockout check is repeated here.
    pub identity: Option<Identity>,
}

#[derive(Clone, Debug)]
pub struct AccountIn {
    /// `None`: taken from `account.KEY` grants when they name this account, else `main`.
    pub key: Option<String>,
    pub id: String,
    pub assume_role: Option<String>,
    pub external_id: Option<String>,
}

#[derive(Clone, Debug)]
pub struct BucketIn {
    pub name: String,
    pub region: String,
    /// Read with `BucketReads::ALL`.
    pub live: LiveBucket,
}

#[derive(Clone, Debug)]
pub struct RoleIn {
    pub name: String,
    /// Read with `RoleReads::all()`.
    pub live: LiveRole,
}

/// The plan file, and what it does not reproduce.
#[derive(Clone, Debug)]
pub struct Imported {
    pub text: String,
    /// What `plan` will still show, or what needs a decision; also written in the file.
    pub notes: Vec<Note>,
    /// The plan file does not validate (a live setting that s3ward's checks refuse).
    pub invalid: Option<Report>,
    /// A bucket policy denies the account itself the bucket policy: `validate` and `plan`
    /// need `--allow-self-lockout`.
    pub needs_allow_self_lockout: bool,
}

/// Something the imported plan file does not reproduce, at an address of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub address: String,
    pub message: String,
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.address, self.message)
    }
}

// ------------------------------------------------------------------------------------------
// Import

/// What an earlier verification round decided to undo.
#[derive(Clone, Debug, Default)]
struct Choices {
    /// Buckets (by index) whose whole policy stays raw.
    pub(super) all_extras: BTreeSet<usize>,
    /// Roles (by index) that grants must not name.
    pub(super) no_grants_to: BTreeSet<usize>,
    /// Roles (by index) whose trust stays raw.
    pub(super) raw_trust: BTreeSet<usize>,
}

/// Builds the plan file for `input`, checked against the resolver and the diff.
pub fn import(input: &Input) -> Imported {
    let keys = choose_keys(input);
    let mut choices = Choices::default();
    // Each round undoes at least one thing it had not undone before, or returns: the sets
    // in `choices` only grow, and are bounded by the resources.
    loop {
        let mut plan = build(input, &keys, &choices);
        let text = toml_out::render(&plan);
        match verify(input, &keys, &text) {
            Verdict::Invalid(report) => {
                return Imported {
                    text,
                    notes: Vec::new(),
                    invalid: Some(*report),
                    needs_allow_self_lockout: false,
                };
            }
            Verdict::Checked {
                changes,
                problems,
                self_lockout,
            } => {
                let mut progress = false;
                let mut remaining = Vec::new();
                for c in changes {
                    if undo(input, &keys, &mut choices, &c) {
                        progress = true;
                    } else {
                        remaining.push(c);
                    }
                }
                if progress {
                    continue;
                }
                let mut notes: Vec<Note> = remaining
                    .iter()
                    .map(|c| explain(input, &keys, c))
                    .chain(problems)
                    .collect();
                if self_lockout {
                    notes.push(Note {
                        address: "plan file".into(),
                        message: "a bucket policy denies this account the bucket policy itself; \
                                  run `validate` and `plan` with `--allow-self-lockout`"
                            .into(),
                    });
                }
                if notes.is_empty() {
                    return Imported {
                        text,
                        notes,
                        invalid: None,
                        needs_allow_self_lockout: false,
                    };
                }
                // The same file, with the notes in its header.
                plan.notes = notes.iter().map(Note::to_string).collect();
                return Imported {
                    text: toml_out::render(&plan),
                    notes,
                    invalid: None,
                    needs_allow_self_lockout: self_lockout,
                };
            }
        }
    }
}

enum Verdict {
    Invalid(Box<Report>),
    Checked {
        changes: Vec<Change>,
        problems: Vec<Note>,
        self_lockout: bool,
    },
}

/// Resolves `text` as `validate` would and diffs it against the live state as `plan` would.
fn verify(input: &Input, keys: &Keys, text: &str) -> Verdict {
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
    let ctx = Context {
        regions,
        identities: input
            .identity
            .iter()
            .map(|i| (keys.account.clone(), i.clone()))
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
fn undo(input: &Input, keys: &Keys, choices: &mut Choices, c: &Change) -> bool {
    let bucket = |k: &str| keys.buckets.iter().position(|b| b == k);
    let role = |k: &str| keys.roles.iter().position(|r| r == k);
    match &c.address {
        Address::BucketPolicy(k) => bucket(k).is_some_and(|i| choices.all_extras.insert(i)),
        Address::RoleInlinePolicy(k, name)
            if name == GRANTS_POLICY_NAME && c.action == Action::Create =>
        {
            role(k).is_some_and(|i| choices.no_grants_to.insert(i))
        }
        Address::RoleTrust(k) => role(k)
            .is_some_and(|i| input.roles[i].live.trust.is_some() && choices.raw_trust.insert(i)),
        _ => false,
    }
}

/// Why `plan` will still show `c`.
fn explain(input: &Input, keys: &Keys, c: &Change) -> Note {
    let address = c.address.to_string();
    let shows = format!("`s3ward plan` will show `{} {address}`", c.action.symbol());
    let message = match &c.address {
        Address::BucketPolicy(k) => {
            let live = keys
                .buckets
                .iter()
                .position(|b| b == k)
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
        Address::RoleInlinePolicy(_, name) if name == GRANTS_POLICY_NAME => match c.action {
            Action::Delete => format!(
                "{shows}: no grant in the imported buckets names this role, but it has an \
                 `{GRANTS_POLICY_NAME}` policy (that name belongs to s3ward); import the buckets \
                 it names too"
            ),
            _ => format!(
                "{shows}: its `{GRANTS_POLICY_NAME}` policy is not what the grants to it in the \
                 imported buckets write; import every bucket it names"
            ),
        },
        Address::BucketPublicAccessBlock(_) if c.action == Action::Create => format!(
            "{shows}: the bucket policy is public and the bucket has no public access block; \
             s3ward needs `block_public_access = false` to accept a public policy, so plan \
             creates a block with every flag off (which changes no access)"
        ),
        _ => shows,
    };
    Note { address, message }
}

// The unit tests reach what they use through `use super::*`: these are the names they use
// that the code in this file does not.
#[cfg(test)]
use crate::{
    desired::{APPLIED_TAG, Access, AclMode, ObjectOwnership, PublicAccessBlock},
    state::{AclGrant, Setting},
};
#[cfg(test)]
use keys::{identity_sid_words, key_from_name, pick_key};

#[cfg(test)]
mod tests;
