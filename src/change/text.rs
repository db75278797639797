//! The change set's text forms that are not addresses: addresses and resources serialised as
//! their text (saved plans, `--format json`), and the summary line.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Address, Resource};

/// Addresses and resources are serialised as their text (saved plans, `--format json`).
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

/// Counts for the summary line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.create + self.update + self.delete == 0 {
            write!(f, "No changes.")
        } else {
            write!(
                f,
                "Plan: {} to create, {} to update, {} to delete.",
                self.create, self.update, self.delete
            )
        }
    }
}
