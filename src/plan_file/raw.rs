//! The plan file as written: serde structs that only check shape (types, known keys).
//!
//! Every value whose meaning is checked later carries its span, so that a problem found while
//! resolving ([`super::resolve`]) can point at the exact place in the file. Enumerations
//! (`access`, `object_ownership`, ...) stay strings here: resolving them by hand lets one run
//! report every bad value, with the list of good ones, instead of stopping at the first.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::Spanned;

pub type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    pub name: Option<S<String>>,
    pub region: Option<S<String>>,
    pub lock: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccount {
    pub id: S<String>,
    pub assume_role: Option<S<String>>,
    pub external_id: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrincipal {
    pub arn: Option<S<String>>,
    pub account: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRole {
    pub account: S<String>,
    pub name: Option<S<String>>,
    pub path: Option<S<String>>,
    pub description: Option<S<String>>,
    pub max_session_duration: Option<S<i64>>,
    pub tags: Option<BTreeMap<S<String>, S<String>>>,
    pub managed_policies: Option<S<Vec<S<String>>>>,
    pub managed_policies_mode: Option<S<String>>,
    pub trust: Option<S<Vec<S<RawTrust>>>>,
    pub trust_policy: Option<S<String>>,
    pub inline_policies: Option<BTreeMap<S<String>, S<String>>>,
    pub inline_policies_mode: Option<S<String>>,
}

/// One `trust` entry: exactly one of the kinds is set (checked when resolving).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrust {
    pub service: Option<S<String>>,
    pub account: Option<S<String>>,
    pub arn: Option<S<String>>,
    pub role: Option<S<String>>,
    pub eks: Option<S<RawEks>>,
    pub external_id: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEks {
    pub oidc_provider: S<String>,
    pub namespace: S<String>,
    pub service_account: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBucket {
    pub account: S<String>,
    pub name: Option<S<String>>,
    pub region: Option<S<String>>,
    pub create: Option<S<bool>>,
    pub object_ownership: Option<S<String>>,
    pub block_public_access: Option<S<RawBlock>>,
    pub bucket_acl: Option<S<String>>,
    pub policy_mode: Option<S<String>>,
    pub extra_policy_statements: Option<S<String>>,
    pub tags: Option<BTreeMap<S<String>, S<String>>>,
    #[serde(default)]
    pub grants: Vec<S<RawGrant>>,
    #[serde(default)]
    pub models: Vec<S<RawModel>>,
    #[serde(default)]
    pub expect: Vec<S<RawExpect>>,
}

/// `[[buckets.KEY.expect]]`: who can or cannot do what (checked when resolving).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    pub who: S<String>,
    pub can: Option<S<Vec<S<String>>>>,
    pub cannot: Option<S<Vec<S<String>>>>,
    pub prefix: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGrant {
    pub to: S<String>,
    pub access: S<String>,
    pub prefixes: Option<S<Vec<S<String>>>>,
    pub public: Option<S<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    pub prefix: S<String>,
    pub require: Option<S<Vec<S<String>>>>,
}

/// `block_public_access = true | false | { block_public_acls = .., ... }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawBlock {
    All(bool),
    Flags(RawBlockFlags),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBlockFlags {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl<'de> Deserialize<'de> for RawBlock {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawBlock;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`true`, `false`, or a table of the four flags")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawBlock, E> {
                Ok(RawBlock::All(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawBlock, A::Error> {
                RawBlockFlags::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawBlock::Flags)
            }
        }
        d.deserialize_any(V)
    }
}
