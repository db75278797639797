//! The plan model that [`toml_out`](super::toml_out) writes: what import decided the plan
//! file says, per account, role and bucket, with the comments to write beside each.
//!
//! Plain data only: building it is [`build`](super::build)'s work, writing it as TOML is
//! `toml_out`'s; nothing here reads live state or decides anything.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::desired::{Access, Encryption, ObjectOwnership, PublicAccessBlock};
use crate::policy::Statement;
use crate::state::AclGrant;

#[derive(Clone, Debug)]
pub struct Plan {
    pub name: String,
    pub region: Option<String>,
    /// The imported accounts, in command-line order.
    pub accounts: Vec<AccountOut>,
    /// Other `[accounts.KEY]` that `account.KEY` grants name: key → id.
    pub other_accounts: BTreeMap<String, String>,
    /// `[principals.KEY]`: key → ARN.
    pub principals: BTreeMap<String, String>,
    pub roles: Vec<RoleOut>,
    pub buckets: Vec<BucketOut>,
    /// `[keys.KEY]` (`--key`).
    pub keys: Vec<KeyOut>,
    /// For the header comment.
    pub notes: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct AccountOut {
    pub key: String,
    pub id: String,
    pub assume_role: Option<String>,
    pub external_id: Option<String>,
}

#[derive(Clone, Debug)]
pub struct RoleOut {
    pub key: String,
    /// Its account's key.
    pub account: String,
    pub name: String,
    pub arn: String,
    /// `None` for `/`.
    pub path: Option<String>,
    pub description: Option<String>,
    pub max_session_duration: Option<i32>,
    pub tags: BTreeMap<String, String>,
    pub managed: Vec<String>,
    pub trust: TrustOut,
    /// Name → pretty JSON.
    pub inline: Vec<(String, String)>,
    pub comments: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustOut {
    Typed(Vec<TrustEntryOut>),
    Raw { json: String, reason: String },
}

/// One `trust = [...]` entry as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustEntryOut {
    Service(String),
    /// An `[accounts]` key or a 12-digit id.
    Account {
        account: String,
        external_id: Option<String>,
    },
    Arn {
        arn: String,
        external_id: Option<String>,
    },
    Role {
        key: String,
        external_id: Option<String>,
    },
    Eks {
        provider: String,
        namespace: String,
        service_account: String,
    },
    /// `region` always written (the plan may have no `settings.region`); `account` when the
    /// cluster is not in the role's account.
    PodIdentity {
        cluster: String,
        namespace: String,
        service_account: String,
        region: String,
        account: Option<String>,
    },
}

#[derive(Clone, Debug)]
pub struct BucketOut {
    pub key: String,
    /// Its account's key.
    pub account: String,
    /// `policy_mode = "merge"`: the grants are this plan's statements, and every other
    /// statement is left as it is (then `extras` is empty).
    pub merge: bool,
    pub name: String,
    /// `None`: the settings region.
    pub region: Option<String>,
    pub ownership: Option<ObjectOwnership>,
    pub public_access_block: Option<PublicAccessBlock>,
    /// Grants to others; non-empty means `bucket_acl = "unmanaged"`.
    pub acl_grants: Vec<AclGrant>,
    pub tags: BTreeMap<String, String>,
    pub grants: Vec<GrantOut>,
    pub extras: Vec<Statement>,
    pub extras_comments: Vec<String>,
    pub comments: Vec<String>,
    /// `encryption`, when read and expressible; else why not, when that needs saying.
    pub encryption: Option<Encryption>,
    pub encryption_comment: Option<String>,
}

/// A `[keys.KEY]` entry: an adopted key, in `merge` mode.
#[derive(Clone, Debug)]
pub struct KeyOut {
    pub key: String,
    pub arn: String,
    /// The whole live policy as pretty JSON statements, written in `authoritative` mode,
    /// when `merge` mode would change it (statements of an earlier s3ward it would own).
    pub raw: Option<String>,
}

impl BucketOut {
    /// `extra_policy_statements`: the statements as a pretty JSON array, in policy order.
    pub fn extras_json(&self) -> String {
        let list = Value::Array(self.extras.iter().map(Statement::to_value).collect());
        serde_json::to_string_pretty(&list).expect("a Value always serialises")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantOut {
    pub to: String,
    pub access: Access,
    pub prefixes: Vec<String>,
    pub public: bool,
}
