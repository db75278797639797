//! Addresses and resources are serialised as their text (saved plans, `--format json`),
//! parsed back with their `FromStr`. Moved out of `change.rs` to keep that file short.

use serde::{Deserialize, Serialize};

use super::{Address, Resource};

macro_rules! serde_as_text {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$t, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

serde_as_text!(Address);
serde_as_text!(Resource);
