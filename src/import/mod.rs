//! `s3ward import`: live buckets and roles in, a commented plan file out, written so that
//! `s3ward plan` with it prints `No changes.`.
//!
//! Pure: `app::import` reads AWS (every read through `live`) and hands the live state here;
//! nothing in this module calls AWS, and nothing is ever written there. It does not print
//! either: the notes go back to `app::import` in [`Imported`].
//!
//! Expected flow, one room each:
//!
//! 1. Choose keys ([`keys`]). Keys are part of the statement ids s3ward wrote
//!    (`s3wardReadRoleRayList`, `s3wardModelsReadList` in a role's `s3ward-grants`), so a
//!    key is taken from those ids when they name the resource, else from its name.
//! 2. Build the plan model ([`model`], built by [`build`]) for every account of the run:
//!    buckets ([`bucket`], policy split into grants and raw extras by [`grants`], or only
//!    grants in `merge` mode when that reproduces it), roles ([`role`], trust as typed entries or
//!    raw by [`trust`]), accounts and principals that grants name.
//! 3. Render it ([`toml_out`]), resolve the text with the real plan-file resolver, and diff
//!    the result against the same live state with the real `diff` ([`verify`]). Whatever
//!    still differs is undone where import can undo it (a bucket's grants back to raw
//!    statements, a role's grants when it has no `s3ward-grants`, a typed trust back to raw)
//!    and the loop in [`import`] runs again; what remains is reported as a [`Note`], in the
//!    file and on stderr.
//!
//! The check in step 3 is why import can promise `No changes.`: it does not trust its own
//! reading of the Sid scheme, it asks the code that `plan` runs.

mod bucket;
mod build;
pub mod grants;
mod keys;
mod kms;
#[cfg(test)]
mod kms_tests;
pub mod model;
mod role;
pub mod toml_out;
pub mod trust;
mod verify;

use crate::plan_file::Report;
use crate::policy::lint::Identity;
use crate::state::{LiveBucket, LiveRole};
use build::build;
use keys::choose_keys;
pub use kms::KeyIn;
use verify::{Choices, Verdict, explain, undo, verify};

// ------------------------------------------------------------------------------------------
// Input and output

/// The live state to import, and what to call things.
#[derive(Clone, Debug)]
pub struct Input {
    /// `settings.name`.
    pub plan_name: String,
    /// The accounts, in command-line order (at least one); resources name theirs by index.
    pub accounts: Vec<AccountIn>,
    pub buckets: Vec<BucketIn>,
    pub roles: Vec<RoleIn>,
    /// `--key`: KMS keys to adopt (each in the account its ARN names).
    pub keys: Vec<KeyIn>,
}

#[derive(Clone, Debug)]
pub struct AccountIn {
    /// `None`: taken from `account.KEY` grants when they name this account, else `main` for
    /// the first account and `account-` + the id's last four digits for the others.
    pub key: Option<String>,
    pub id: String,
    pub assume_role: Option<String>,
    pub external_id: Option<String>,
    /// Who `plan` will run as in this account, when known: its self-lockout check is
    /// repeated here.
    pub identity: Option<Identity>,
}

#[derive(Clone, Debug)]
pub struct BucketIn {
    /// Its account: an index into `Input::accounts`.
    pub account: usize,
    pub name: String,
    pub region: String,
    /// Read with `BucketReads::ALL`.
    pub live: LiveBucket,
}

#[derive(Clone, Debug)]
pub struct RoleIn {
    /// Its account: an index into `Input::accounts`.
    pub account: usize,
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

// The unit tests reach what they use through `use super::*`: these are the names they use
// that the code in this file does not.
#[cfg(test)]
use crate::{
    desired::{
        APPLIED_TAG, Access, AclMode, GRANTS_POLICY_NAME, ObjectOwnership, PublicAccessBlock,
    },
    plan_file,
    state::{AclGrant, Setting},
};
#[cfg(test)]
use keys::{identity_sid_words, key_from_name, pick_key};

#[cfg(test)]
mod multi_tests;
#[cfg(test)]
mod tests;
