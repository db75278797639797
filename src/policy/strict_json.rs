//! JSON parsing that refuses a key repeated in one object.
//!
//! serde_json, like most JSON parsers, keeps the last value of a repeated key, so
//! `{"Effect": "Deny", …, "Effect": "Allow"}` reads as an Allow while a reviewer reads a Deny.
//! A policy must mean what its reader sees, so a repeated key is an error here, located at the
//! repetition (a byte offset into the text) so that the plan file can point at it.
//!
//! serde_json has no option for this (its `Map` overwrites on insert, and `Value`'s
//! `Deserialize` uses it), hence this small visitor, which builds the same `serde_json::Value`
//! and checks each key as it is read. Depth limits and syntax errors stay serde_json's.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// A key that appears twice in one JSON object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateKey {
    pub key: String,
    /// Where the object is, in the path style of policy parse errors (`Statement[0]`).
    pub path: String,
    /// Byte offset of the second occurrence's opening quote; `None` when the key is written
    /// with escapes (serde_json then hands over a copy, whose place is unknown).
    pub offset: Option<usize>,
}

#[derive(Debug)]
pub enum Error {
    Syntax(serde_json::Error),
    Duplicate(DuplicateKey),
}

/// Parses `text` as one JSON value, refusing repeated keys.
pub fn parse(text: &str) -> Result<Value, Error> {
    let found = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let result = ValueSeed {
        base: text,
        path: String::new(),
        found: &found,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    match (result, found.into_inner()) {
        (_, Some(dup)) => Err(Error::Duplicate(dup)),
        (Ok(v), None) => Ok(v),
        (Err(e), None) => Err(Error::Syntax(e)),
    }
}

/// Where `s` starts in `base`, when it is a slice of it.
fn offset_in(base: &str, s: &str) -> Option<usize> {
    let start = base.as_ptr() as usize;
    let at = s.as_ptr() as usize;
    (at >= start && at + s.len() <= start + base.len()).then(|| at - start)
}

struct ValueSeed<'a> {
    base: &'a str,
    path: String,
    found: &'a RefCell<Option<DuplicateKey>>,
}

impl ValueSeed<'_> {
    fn child(&self, path: String) -> Self {
        ValueSeed {
            base: self.base,
            path,
            found: self.found,
        }
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) =
            seq.next_element_seed(self.child(format!("{}[{}]", self.path, items.len())))?
        {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some((key, offset)) = map.next_key_seed(KeySeed { base: self.base })? {
            if out.contains_key(&key) {
                *self.found.borrow_mut() = Some(DuplicateKey {
                    key,
                    path: self.path.clone(),
                    offset,
                });
                return Err(de::Error::custom("repeated key"));
            }
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            let value = map.next_value_seed(self.child(path))?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// A key and the offset of its opening quote.
struct KeySeed<'a> {
    base: &'a str,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = (String, Option<usize>);

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = (String, Option<usize>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        let offset = offset_in(self.base, v).and_then(|o| o.checked_sub(1));
        Ok((v.to_string(), offset))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok((v.to_string(), None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dup(text: &str) -> DuplicateKey {
        match parse(text) {
            Err(Error::Duplicate(d)) => d,
            other => panic!("expected a repeated key, got {other:?}"),
        }
    }

    #[test]
    fn same_value_as_serde_json_without_repeats() {
        let text = r#"{"a":[1,-2,3.5,true,null,"x\"y"],"b":{"c":{}},"d":18446744073709551615}"#;
        let v = parse(text).unwrap();
        assert_eq!(v, serde_json::from_str::<Value>(text).unwrap());
    }

    #[test]
    fn a_repeated_key_is_found_where_it_repeats() {
        let text = r#"{"Statement":[{"Effect":"Deny","Action":"s3:*","Effect":"Allow"}]}"#;
        let d = dup(text);
        assert_eq!(d.key, "Effect");
        assert_eq!(d.path, "Statement[0]");
        let at = d.offset.unwrap();
        assert_eq!(&text[at..], r#""Effect":"Allow"}]}"#);
        // Top level, and a key written with an escape (its place is unknown).
        assert_eq!(dup(r#"{"Version":"1","Version":"2"}"#).path, "");
        let d = dup(r#"{"k":1,"\u006b":2}"#);
        assert_eq!((d.key.as_str(), d.offset), ("k", None));
    }

    #[test]
    fn keys_that_differ_in_case_are_different_keys() {
        assert!(parse(r#"{"k":1,"K":2}"#).is_ok());
    }

    #[test]
    fn syntax_errors_stay_serde_jsons() {
        assert!(matches!(parse("{\"a\":1} x"), Err(Error::Syntax(_))));
        assert!(matches!(parse("[1,"), Err(Error::Syntax(_))));
    }
}
