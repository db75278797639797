//! Addresses ([`Address`], and the [`Resource`] each belongs to): parsed and printed here
//! and nowhere else; other modules hold them as values and never build their text.

use std::fmt;
use std::str::FromStr;

/// Where a change applies (SPEC "Addresses").
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Address {
    Bucket(String),
    BucketPolicy(String),
    BucketAcl(String),
    BucketOwnership(String),
    BucketPublicAccessBlock(String),
    BucketTags(String),
    BucketEncryption(String),
    Role(String),
    RoleTrust(String),
    RoleInlinePolicy(String, String),
    RoleManagedPolicy(String, String),
    RoleTags(String),
    /// `key.KEY`: selects the key's policy with `--target` (s3ward never creates a key).
    Key(String),
    KeyPolicy(String),
    /// `bucket.KEY.expect[N]`: an expectation of the plan file (nothing is written there).
    BucketExpect(String, usize),
    RolePodIdentity(String, String),
}

/// The resource an address belongs to: a bucket, a role or a KMS key of the plan file.
/// Printed (and serialised) as its address, `bucket.KEY`, `role.KEY` or `key.KEY`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    Bucket(String),
    Role(String),
    Key(String),
}

impl Resource {
    /// The address of the resource itself (`bucket.KEY`, `role.KEY`).
    pub fn address(&self) -> Address {
        match self {
            Resource::Bucket(k) => Address::Bucket(k.clone()),
            Resource::Role(k) => Address::Role(k.clone()),
            Resource::Key(k) => Address::Key(k.clone()),
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.address().fmt(f)
    }
}

impl FromStr for Resource {
    type Err = AddressError;

    /// `bucket.KEY` or `role.KEY`: the address of a whole resource.
    fn from_str(s: &str) -> Result<Resource, AddressError> {
        match s.parse::<Address>()? {
            a @ (Address::Bucket(_) | Address::Role(_) | Address::Key(_)) => Ok(a.resource()),
            _ => Err(AddressError(s.to_string())),
        }
    }
}

impl Address {
    pub fn resource(&self) -> Resource {
        use Address::*;
        match self {
            Bucket(k)
            | BucketPolicy(k)
            | BucketAcl(k)
            | BucketOwnership(k)
            | BucketPublicAccessBlock(k)
            | BucketTags(k)
            | BucketEncryption(k) => Resource::Bucket(k.clone()),
            BucketExpect(k, _) => Resource::Bucket(k.clone()),
            Role(k)
            | RoleTrust(k)
            | RoleInlinePolicy(k, _)
            | RoleManagedPolicy(k, _)
            | RoleTags(k)
            | RolePodIdentity(k, _) => Resource::Role(k.clone()),
            Key(k) | KeyPolicy(k) => Resource::Key(k.clone()),
        }
    }

    /// Whether this is the address of a whole resource (`bucket.KEY`, `role.KEY`).
    pub fn is_resource(&self) -> bool {
        matches!(
            self,
            Address::Bucket(_) | Address::Role(_) | Address::Key(_)
        )
    }

    /// Whether `--target self` selects `other`: a resource address selects everything under it.
    pub fn selects(&self, other: &Address) -> bool {
        if self.is_resource() {
            self.resource() == other.resource()
        } else {
            self == other
        }
    }

    /// The name of the setting in the `s3ward:applied` record that this address changes.
    pub fn setting(&self) -> Option<&'static str> {
        use Address::*;
        Some(match self {
            Bucket(_) | Key(_) | BucketExpect(..) => return None,
            BucketPolicy(_) | KeyPolicy(_) => "policy",
            BucketEncryption(_) => "encryption",
            BucketAcl(_) => "acl",
            BucketOwnership(_) => "ownership",
            BucketPublicAccessBlock(_) => "public_access_block",
            BucketTags(_) | RoleTags(_) => "tags",
            Role(_) => "role",
            RoleTrust(_) => "trust",
            RoleInlinePolicy(..) => "inline",
            RoleManagedPolicy(..) => "managed",
            RolePodIdentity(..) => "pod_identity",
        })
    }

    /// Sort key that keeps a resource's own address first, then its settings in apply order.
    pub fn sort_key(&self) -> (Resource, u8, String) {
        use Address::*;
        let (rank, extra) = match self {
            Bucket(_) | Role(_) | Key(_) => (0, String::new()),
            KeyPolicy(_) => (1, String::new()),
            BucketEncryption(_) => (6, String::new()),
            RoleTrust(_) => (1, String::new()),
            BucketPolicy(_) => (1, String::new()),
            BucketAcl(_) => (2, String::new()),
            RoleInlinePolicy(_, n) => (2, n.clone()),
            BucketOwnership(_) => (3, String::new()),
            RoleManagedPolicy(_, a) => (3, a.clone()),
            BucketPublicAccessBlock(_) => (4, String::new()),
            RolePodIdentity(_, a) => (4, a.clone()),
            BucketTags(_) | RoleTags(_) => (5, String::new()),
            BucketExpect(_, n) => (6, format!("{n:08}")),
        };
        (self.resource(), rank, extra)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Address::*;
        match self {
            Bucket(k) => write!(f, "bucket.{k}"),
            BucketPolicy(k) => write!(f, "bucket.{k}.policy"),
            BucketAcl(k) => write!(f, "bucket.{k}.acl"),
            BucketOwnership(k) => write!(f, "bucket.{k}.ownership"),
            BucketPublicAccessBlock(k) => write!(f, "bucket.{k}.public_access_block"),
            BucketTags(k) => write!(f, "bucket.{k}.tags"),
            Role(k) => write!(f, "role.{k}"),
            RoleTrust(k) => write!(f, "role.{k}.trust"),
            RoleInlinePolicy(k, n) => write!(f, "role.{k}.inline_policy[{}]", quote(n)),
            RoleManagedPolicy(k, a) => write!(f, "role.{k}.managed_policy[{}]", quote(a)),
            RoleTags(k) => write!(f, "role.{k}.tags"),
            BucketEncryption(k) => write!(f, "bucket.{k}.encryption"),
            Key(k) => write!(f, "key.{k}"),
            KeyPolicy(k) => write!(f, "key.{k}.policy"),
            BucketExpect(k, n) => write!(f, "bucket.{k}.expect[{n}]"),
            RolePodIdentity(k, a) => write!(f, "role.{k}.pod_identity[{}]", quote(a)),
        }
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// Why an address does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressError(pub String);

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not an address; addresses look like `bucket.KEY`, `bucket.KEY.policy`, `role.KEY`, `role.KEY.managed_policy[\"ARN\"]`, `key.KEY.policy`",
            self.0
        )
    }
}

impl std::error::Error for AddressError {}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Address, AddressError> {
        let bad = || AddressError(s.to_string());
        let (kind, rest) = s.split_once('.').ok_or_else(bad)?;
        // The key ends at the next `.` (keys never contain one).
        let (key, tail) = match rest.split_once('.') {
            Some((k, t)) => (k, Some(t)),
            None => (rest, None),
        };
        if key.is_empty() {
            return Err(bad());
        }
        let key = key.to_string();
        let bracketed = |t: &str, prefix: &str| -> Option<String> {
            let inner = t.strip_prefix(&format!("{prefix}["))?.strip_suffix(']')?;
            serde_json::from_str::<String>(inner).ok()
        };
        let addr = match (kind, tail) {
            ("bucket", None) => Address::Bucket(key),
            ("bucket", Some("policy")) => Address::BucketPolicy(key),
            ("bucket", Some("acl")) => Address::BucketAcl(key),
            ("bucket", Some("ownership")) => Address::BucketOwnership(key),
            ("bucket", Some("public_access_block")) => Address::BucketPublicAccessBlock(key),
            ("bucket", Some("tags")) => Address::BucketTags(key),
            ("bucket", Some("encryption")) => Address::BucketEncryption(key),
            ("key", None) => Address::Key(key),
            ("key", Some("policy")) => Address::KeyPolicy(key),
            ("bucket", Some(t)) if t.starts_with("expect[") && t.ends_with(']') => {
                let n = t["expect[".len()..t.len() - 1].parse().map_err(|_| bad())?;
                Address::BucketExpect(key, n)
            }
            ("role", None) => Address::Role(key),
            ("role", Some("trust")) => Address::RoleTrust(key),
            ("role", Some("tags")) => Address::RoleTags(key),
            ("role", Some(t)) => {
                if let Some(n) = bracketed(t, "inline_policy") {
                    Address::RoleInlinePolicy(key, n)
                } else if let Some(a) = bracketed(t, "managed_policy") {
                    Address::RoleManagedPolicy(key, a)
                } else {
                    Address::RolePodIdentity(key, bracketed(t, "pod_identity").ok_or_else(bad)?)
                }
            }
            _ => return Err(bad()),
        };
        Ok(addr)
    }
}
