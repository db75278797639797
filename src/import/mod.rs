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

pub mod grants;
mod keys;
pub mod model;
pub mod toml_out;
pub mod trust;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::change::{Action, Address, Change};
use crate::desired::{
    APPLIED_TAG, AclMode, Bucket, GRANTS_POLICY_NAME, PolicyMode, PublicAccessBlock,
};
use crate::diff::{self, Context};
use crate::plan_file::{self, Report};
use crate::policy::Statement;
use crate::policy::canonical::effective_version;
use crate::policy::lint::{self, Identity};
use crate::state::{Live, LiveBucket, LiveRole, Setting};
use keys::{Keys, choose_keys};
use model::{AccountOut, BucketOut, Plan, RoleOut, TrustOut};

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
    all_extras: BTreeSet<usize>,
    /// Roles (by index) that grants must not name.
    no_grants_to: BTreeSet<usize>,
    /// Roles (by index) whose trust stays raw.
    raw_trust: BTreeSet<usize>,
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

/// The statements of a live bucket policy (none when absent or unparseable).
fn policy_statements(b: &LiveBucket) -> &[Statement] {
    match b.policy.present().map(|d| &d.doc) {
        Some(Ok(doc)) => &doc.statements,
        _ => &[],
    }
}

// ------------------------------------------------------------------------------------------
// Building the model

/// `tag_char` of the resolver: what s3ward accepts in tags.
fn tag_ok(s: &str, max: usize) -> bool {
    s.chars().count() <= max
        && s.chars()
            .all(|c| c.is_alphanumeric() || " _.:/=+-@".contains(c))
}

/// The tags to declare, and a comment on those left out.
fn plan_tags(live: &BTreeMap<String, String>) -> (BTreeMap<String, String>, Option<String>) {
    let mut out = BTreeMap::new();
    let mut skipped = Vec::new();
    for (k, v) in live {
        if k == APPLIED_TAG {
            continue; // s3ward's own record of what it applied; refused in a plan file
        }
        if k.starts_with("aws:") || k.is_empty() || !tag_ok(k, 128) || !tag_ok(v, 256) {
            skipped.push(format!("`{k}`"));
            continue;
        }
        out.insert(k.clone(), v.clone());
    }
    let comment = (!skipped.is_empty()).then(|| {
        format!(
            "Tags left out (unmanaged): {}; s3ward refuses `aws:` keys and characters outside \
             letters, digits, spaces and `_ . : / = + - @`.",
            skipped.join(", ")
        )
    });
    (out, comment)
}

fn build(input: &Input, keys: &Keys, choices: &Choices) -> Plan {
    let main_id = input.account.id.clone();
    let all_roles: BTreeMap<String, String> = input
        .roles
        .iter()
        .zip(&keys.roles)
        .map(|(r, k)| (r.live.arn.clone(), k.clone()))
        .collect();
    // Grants may name a role only when the role has an `s3ward-grants` policy for the
    // resolver to compare with: otherwise the grant would add one.
    let grantee_roles: BTreeMap<String, String> = input
        .roles
        .iter()
        .zip(&keys.roles)
        .enumerate()
        .filter(|(i, (r, _))| {
            !choices.no_grants_to.contains(i) && r.live.inline.contains_key(GRANTS_POLICY_NAME)
        })
        .map(|(_, (r, k))| (r.live.arn.clone(), k.clone()))
        .collect();
    let mut names = grants::Names {
        main_key: keys.account.clone(),
        main_id: main_id.clone(),
        roles: grantee_roles,
        ..Default::default()
    };

    // The most common bucket region becomes `settings.region`.
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for b in &input.buckets {
        *counts.entry(&b.region).or_default() += 1;
    }
    let region = input
        .buckets
        .iter()
        .map(|b| b.region.as_str())
        .fold(None::<&str>, |best, r| match best {
            Some(b) if counts[b] >= counts[r] => Some(b),
            _ => Some(r),
        })
        .map(str::to_string);

    let mut buckets = Vec::new();
    for (i, (b, key)) in input.buckets.iter().zip(&keys.buckets).enumerate() {
        buckets.push(bucket(
            b,
            key,
            &main_id,
            region.as_deref(),
            &mut names,
            choices.all_extras.contains(&i),
        ));
    }

    let mut roles = Vec::new();
    for (i, (r, key)) in input.roles.iter().zip(&keys.roles).enumerate() {
        let trust_names = trust::TrustNames {
            role_account: &main_id,
            main_key: &keys.account,
            main_id: &main_id,
            roles: &all_roles,
        };
        roles.push(role(r, key, &trust_names, choices.raw_trust.contains(&i)));
    }

    // Only what a grant names.
    let used: BTreeSet<&str> = buckets
        .iter()
        .flat_map(|b| b.grants.iter().map(|g| g.to.as_str()))
        .collect();
    let principals = names
        .principals
        .into_iter()
        .filter(|(k, _)| used.contains(format!("principal.{k}").as_str()))
        .collect();
    let other_accounts = names
        .accounts
        .into_iter()
        .filter(|(k, _)| used.contains(format!("account.{k}").as_str()))
        .collect();
    Plan {
        name: input.plan_name.clone(),
        region: if buckets.is_empty() { None } else { region },
        account: AccountOut {
            key: keys.account.clone(),
            id: main_id,
            assume_role: input.account.assume_role.clone(),
            external_id: input.account.external_id.clone(),
        },
        other_accounts,
        principals,
        roles,
        buckets,
        notes: Vec::new(),
    }
}

fn bucket(
    b: &BucketIn,
    key: &str,
    account_id: &str,
    settings_region: Option<&str>,
    names: &mut grants::Names,
    all_extras: bool,
) -> BucketOut {
    let live = &b.live;
    let mut comments = Vec::new();
    let statements = policy_statements(live);
    let public = statements.iter().any(lint::is_public_statement);
    let mut public_access_block = live.public_access_block.present().copied();
    if public && public_access_block.is_none() {
        public_access_block = Some(PublicAccessBlock::all(false));
        comments.push(
            "The policy is public and the bucket has no public access block. s3ward accepts a \
             public policy only with `block_public_access = false` declared, so the first apply \
             creates a block with every flag off: access does not change."
                .into(),
        );
    } else if public && public_access_block.is_some_and(|p| !p.allows_public_policy()) {
        comments.push(
            "The policy is public, but the public access block blocks public policies: AWS \
             ignores the public statements (RestrictPublicBuckets) or refuses to write them \
             again (BlockPublicPolicy). s3ward refuses such a plan file; decide which should go."
                .into(),
        );
    }
    let skeleton = Bucket {
        key: key.to_string(),
        name: b.name.clone(),
        account: names.main_key.clone(),
        account_id: account_id.to_string(),
        region: Some(b.region.clone()),
        create: true,
        ownership: live.ownership.present().copied(),
        public_access_block,
        acl: AclMode::Private,
        policy_mode: PolicyMode::Authoritative,
        sid_prefix: "s3ward".into(),
        policy_statements: Vec::new(),
        tags: BTreeMap::new(),
        grants: Vec::new(),
        models: Vec::new(),
    };
    let (grants, extras, extras_comments) = if all_extras {
        let why = if statements.iter().any(Statement::is_s3ward) {
            " (grants read from its s3ward statements did not write the same policy again)"
        } else {
            ""
        };
        (
            Vec::new(),
            statements.to_vec(),
            vec![format!(
                "The bucket policy's statements, kept as they are{why}."
            )],
        )
    } else {
        let m = grants::match_bucket(&skeleton, statements, names, &BTreeSet::new());
        let mut why = Vec::new();
        let in_unmatched = |s: &Statement| {
            s.sid()
                .and_then(grants::split_part)
                .is_some_and(|(stem, _)| m.unmatched_stems.iter().any(|u| u == stem))
        };
        let foreign = m.extras.iter().filter(|s| !in_unmatched(s)).count();
        if foreign > 0 {
            why.push(format!(
                "{foreign} statement{} that s3ward's grants do not write",
                if foreign == 1 { "" } else { "s" }
            ));
        }
        if !m.unmatched_stems.is_empty() {
            why.push(format!(
                "statements named like a grant's ({}) that differ from what the grant would \
                 write now, or name a grantee this plan file cannot name the same way",
                m.unmatched_stems
                    .iter()
                    .map(|s| format!("`{s}…`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let c = if m.extras.is_empty() {
            Vec::new()
        } else {
            vec![format!(
                "Kept verbatim from the live policy: {}.",
                why.join("; and ")
            )]
        };
        (m.grants, m.extras, c)
    };
    if let Some(d) = live.policy.present() {
        match &d.doc {
            Err(e) => comments.push(format!(
                "The live bucket policy is not a valid policy document ({e}); it is left out, \
                 and plan will replace it."
            )),
            Ok(doc) if effective_version(doc) != "2012-10-17" => comments.push(format!(
                "The live policy's `Version` is {} and it holds `${{…}}`, which that version \
                 reads as text; s3ward writes `2012-10-17`, where `${{…}}` is a policy variable, \
                 which plan will show as an update.",
                doc.version.as_deref().unwrap_or("missing")
            )),
            Ok(_) => {}
        }
    }
    let (tags, tag_comment) = plan_tags(live.tags.present().unwrap_or(&BTreeMap::new()));
    comments.extend(tag_comment);
    let acl_grants = live
        .acl
        .present()
        .map(|a| a.foreign_grants().into_iter().cloned().collect())
        .unwrap_or_default();
    BucketOut {
        key: key.to_string(),
        name: b.name.clone(),
        region: (settings_region != Some(b.region.as_str())).then(|| b.region.clone()),
        ownership: skeleton.ownership,
        public_access_block,
        acl_grants,
        tags,
        grants,
        extras,
        extras_comments,
        comments,
    }
}

fn role(r: &RoleIn, key: &str, names: &trust::TrustNames<'_>, raw_trust: bool) -> RoleOut {
    let live = &r.live;
    let mut comments = Vec::new();
    let trust = match live.trust.as_ref().map(|t| &t.doc) {
        Some(Ok(doc)) if raw_trust => TrustOut::Raw {
            json: doc.to_pretty(),
            reason: "the typed entries read from it did not write it again".into(),
        },
        Some(Ok(doc)) => trust::trust_out(doc, names),
        Some(Err(e)) => TrustOut::Raw {
            json: live
                .trust
                .as_ref()
                .map(|t| t.text.clone())
                .unwrap_or_default(),
            reason: format!("it is not a valid policy document ({e})"),
        },
        None => TrustOut::Raw {
            json: r#"{"Version": "2012-10-17", "Statement": []}"#.into(),
            reason: "IAM returned none".into(),
        },
    };
    if live.inline.contains_key(GRANTS_POLICY_NAME) {
        comments.push(format!(
            "Its `{GRANTS_POLICY_NAME}` inline policy is written from the grants to `role.{key}` \
             in the buckets below."
        ));
    }
    let mut inline = Vec::new();
    for (name, doc) in &live.inline {
        if name == GRANTS_POLICY_NAME {
            continue;
        }
        match &doc.doc {
            Ok(d) => inline.push((name.clone(), d.to_pretty())),
            Err(e) => {
                comments.push(format!(
                    "Inline policy `{name}` is not a valid policy document ({e}); it is kept as \
                     text, and s3ward will refuse it until it is fixed."
                ));
                inline.push((name.clone(), doc.text.clone()));
            }
        }
    }
    let (tags, tag_comment) = plan_tags(&live.tags);
    comments.extend(tag_comment);
    let managed = match &live.managed {
        Setting::Present(set) => set.iter().cloned().collect(),
        _ => Vec::new(),
    };
    RoleOut {
        key: key.to_string(),
        name: r.name.clone(),
        arn: live.arn.clone(),
        path: (live.path != "/" && !live.path.is_empty()).then(|| live.path.clone()),
        description: live.description.clone().filter(|d| !d.is_empty()),
        max_session_duration: live.max_session_duration,
        tags,
        managed,
        trust,
        inline,
        comments,
    }
}

// The unit tests reach what they use through `use super::*`: these are the names they use
// that the code in this file does not.
#[cfg(test)]
use crate::{
    desired::{Access, ObjectOwnership},
    state::AclGrant,
};
#[cfg(test)]
use keys::{identity_sid_words, key_from_name, pick_key};

#[cfg(test)]
mod tests;
