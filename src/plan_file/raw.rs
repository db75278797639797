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
    pub pod_identity: Option<S<RawPodIdentity>>,
    pub external_id: Option<S<String>>,
}

/// `{ pod_identity = { cluster, namespace, service_account, region?, account? } }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPodIdentity {
    pub cluster: S<String>,
    pub namespace: S<String>,
    pub service_account: S<String>,
    pub region: Option<S<String>>,
    pub account: Option<S<String>>,
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
    pub encryption: Option<S<RawEncryption>>,
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

/// `[keys.KEY]`: a KMS key whose policy s3ward manages (SPEC "Encryption with KMS").
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    pub account: S<String>,
    pub arn: Option<S<String>>,
    pub alias: Option<S<String>>,
    pub policy_mode: Option<S<String>>,
    pub extra_policy_statements: Option<S<String>>,
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
/// `[workloads.KEY]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    pub role: S<String>,
    pub namespace: S<String>,
    pub service_account: S<String>,
    #[serde(default)]
    pub volumes: Vec<S<RawVolume>>,
}

/// `[[workloads.KEY.volumes]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVolume {
    pub bucket: S<String>,
    pub prefix: Option<S<String>>,
    pub read_only: Option<S<bool>>,
    pub claim: Option<S<String>>,
    pub uid: Option<S<u32>>,
    pub gid: Option<S<u32>>,
}

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

/// `encryption = "SSE-S3" | { kms_key = "key.KEY" | "arn:…", bucket_key = true }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawEncryption {
    Named(String),
    Kms(RawKmsEncryption),
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKmsEncryption {
    pub kms_key: String,
    pub bucket_key: Option<bool>,
}

impl<'de> Deserialize<'de> for RawEncryption {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawEncryption;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`\"SSE-S3\"` or a table `{ kms_key = .., bucket_key = .. }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawEncryption, E> {
                Ok(RawEncryption::Named(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawEncryption, A::Error> {
                RawKmsEncryption::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawEncryption::Kms)
            }
        }
        d.deserialize_any(V)
    }
}
