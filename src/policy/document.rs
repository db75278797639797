//! The IAM policy document model: parse any valid policy JSON, and write it back out.
//!
//! Parsing accepts every form IAM accepts: `Statement` as an object or a list, scalar or list
//! values, `Principal: "*"` or a map, `NotAction`/`NotResource`/`NotPrincipal`, and any
//! condition operator. Condition values keep their JSON type (`true`, `3600`, `"x"`) so that a
//! document written back is the document read. The model does not judge what a policy means;
//! [`super::canonical`] and [`super::lint`] do.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

/// A whole policy document.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyDocument {
    pub version: Option<String>,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
}

/// `Allow` or `Deny`. IAM accepts any case on input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// `"Principal": "*"` or `{"AWS": [...], "Service": [...], ...}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    Star,
    /// Principal type (`AWS`, `Service`, `Federated`, `CanonicalUser`) → values.
    Map(BTreeMap<String, Vec<String>>),
}

/// Condition operator → condition key → values (strings, booleans or numbers as written).
pub type Condition = BTreeMap<String, BTreeMap<String, Vec<Value>>>;

/// One statement. List-valued elements are kept as lists; a scalar in the source is a
/// one-element list here (the writer folds it back).
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub principal: Option<Principal>,
    pub not_principal: Option<Principal>,
    pub action: Option<Vec<String>>,
    pub not_action: Option<Vec<String>>,
    pub resource: Option<Vec<String>>,
    pub not_resource: Option<Vec<String>>,
    pub condition: Option<Condition>,
}

impl Statement {
    /// An `Allow` statement with nothing else set; callers fill in the rest.
    pub fn allow() -> Statement {
        Statement {
            sid: None,
            effect: Effect::Allow,
            principal: None,
            not_principal: None,
            action: None,
            not_action: None,
            resource: None,
            not_resource: None,
            condition: None,
        }
    }

    /// The Sid, treating `""` as no Sid (IAM's examples use both for "none").
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref().filter(|s| !s.is_empty())
    }

    /// Whether the Sid marks the statement as s3ward's own (`merge` mode owns only these).
    pub fn is_s3ward(&self) -> bool {
        self.sid().is_some_and(|s| s.starts_with("s3ward"))
    }
}

/// Why a text is not a policy document. `path` is a JSON-pointer-like location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub path: String,
    pub message: String,
    /// Byte offset and length, in the parsed text, of what is wrong, when known (a repeated
    /// key), so that a plan file can point at it.
    pub at: Option<(usize, usize)>,
    /// The key, when the text repeats one in an object.
    pub repeated_key: Option<String>,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ParseError {}

fn err(path: impl Into<String>, message: impl Into<String>) -> ParseError {
    ParseError {
        path: path.into(),
        message: message.into(),
        at: None,
        repeated_key: None,
    }
}

/// Parses JSON text, refusing a key repeated in one object: serde_json would keep the last
/// value silently, and `"Effect":"Deny", …, "Effect":"Allow"` must never read as an Allow.
fn json(text: &str) -> Result<Value, ParseError> {
    super::strict_json::parse(text).map_err(|e| match e {
        super::strict_json::Error::Syntax(e) => err("", format!("not valid JSON: {e}")),
        super::strict_json::Error::Duplicate(d) => ParseError {
            at: d.offset.map(|o| (o, d.key.len() + 2)),
            repeated_key: Some(d.key.clone()),
            ..err(
                d.path,
                format!(
                    "the key `{}` is repeated in one object (JSON parsers keep only the last value)",
                    d.key
                ),
            )
        },
    })
}

/// Decodes a document as IAM returns it: URL-encoded unless it already starts with `{`.
pub fn decode_iam_text(text: &str) -> String {
    let t = text.trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        return text.to_string();
    }
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

impl PolicyDocument {
    /// Parses a policy document from JSON text (URL-encoded text from IAM is decoded first).
    pub fn parse(text: &str) -> Result<PolicyDocument, ParseError> {
        let decoded = decode_iam_text(text);
        let value = json(&decoded).map_err(|e| ParseError {
            // An offset into the decoded text means nothing in the encoded one.
            at: e.at.filter(|_| decoded == text),
            ..e
        })?;
        PolicyDocument::from_value(&value)
    }

    /// Parses a policy document from a JSON value.
    pub fn from_value(value: &Value) -> Result<PolicyDocument, ParseError> {
        let obj = value
            .as_object()
            .ok_or_else(|| err("", "a policy document must be a JSON object"))?;
        let mut version = None;
        let mut id = None;
        let mut statements = None;
        for (k, v) in obj {
            match k.as_str() {
                "Version" => version = Some(string(v, "Version")?),
                "Id" => id = Some(string(v, "Id")?),
                "Statement" => {
                    statements = Some(match v {
                        Value::Array(items) => items
                            .iter()
                            .enumerate()
                            .map(|(i, s)| Statement::from_value(s, &format!("Statement[{i}]")))
                            .collect::<Result<Vec<_>, _>>()?,
                        Value::Object(_) => vec![Statement::from_value(v, "Statement")?],
                        _ => return Err(err("Statement", "must be an object or a list")),
                    })
                }
                other => {
                    return Err(err(
                        "",
                        format!(
                            "unknown element `{other}` (expected `Version`, `Id`, `Statement`)"
                        ),
                    ));
                }
            }
        }
        let statements = statements.ok_or_else(|| err("", "missing `Statement`"))?;
        if let Some(v) = &version
            && v != "2012-10-17"
            && v != "2008-10-17"
        {
            return Err(err(
                "Version",
                format!("`{v}` is not a policy language version (use `2012-10-17`)"),
            ));
        }
        Ok(PolicyDocument {
            version,
            id,
            statements,
        })
    }

    /// Parses a JSON array of statements (the plan file's `extra_policy_statements`).
    pub fn parse_statements(text: &str) -> Result<Vec<Statement>, ParseError> {
        let value = json(text)?;
        match &value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, s)| Statement::from_value(s, &format!("[{i}]")))
                .collect(),
            Value::Object(_) => Ok(vec![Statement::from_value(&value, "")?]),
            _ => Err(err("", "expected a JSON array of statements")),
        }
    }

    /// A `2012-10-17` document holding `statements`.
    pub fn new(statements: Vec<Statement>) -> PolicyDocument {
        PolicyDocument {
            version: Some("2012-10-17".into()),
            id: None,
            statements,
        }
    }

    /// The document as JSON, with keys in IAM's customary order and one-element lists folded.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        if let Some(v) = &self.version {
            m.insert("Version".into(), Value::String(v.clone()));
        }
        if let Some(id) = &self.id {
            m.insert("Id".into(), Value::String(id.clone()));
        }
        m.insert(
            "Statement".into(),
            Value::Array(self.statements.iter().map(Statement::to_value).collect()),
        );
        Value::Object(m)
    }

    /// Compact JSON: what s3ward sends to AWS. Deterministic for a given document.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_value()).expect("a Value always serialises")
    }

    /// Pretty JSON (two-space indent), for display.
    pub fn to_pretty(&self) -> String {
        serde_json::to_string_pretty(&self.to_value()).expect("a Value always serialises")
    }
}

impl Statement {
    fn from_value(value: &Value, path: &str) -> Result<Statement, ParseError> {
        let obj = value
            .as_object()
            .ok_or_else(|| err(path, "a statement must be a JSON object"))?;
        let at = |k: &str| {
            if path.is_empty() {
                k.to_string()
            } else {
                format!("{path}.{k}")
            }
        };
        let mut st = Statement::allow();
        let mut effect = None;
        for (k, v) in obj {
            match k.as_str() {
                "Sid" => st.sid = Some(string(v, &at(k))?),
                "Effect" => {
                    let e = string(v, &at(k))?;
                    effect = Some(match e.to_ascii_lowercase().as_str() {
                        "allow" => Effect::Allow,
                        "deny" => Effect::Deny,
                        _ => {
                            return Err(err(
                                at(k),
                                format!("`{e}` is not an effect (use `Allow` or `Deny`)"),
                            ));
                        }
                    })
                }
                "Principal" => st.principal = Some(principal(v, &at(k))?),
                "NotPrincipal" => st.not_principal = Some(principal(v, &at(k))?),
                "Action" => st.action = Some(strings(v, &at(k))?),
                "NotAction" => st.not_action = Some(strings(v, &at(k))?),
                "Resource" => st.resource = Some(strings(v, &at(k))?),
                "NotResource" => st.not_resource = Some(strings(v, &at(k))?),
                "Condition" => st.condition = Some(condition(v, &at(k))?),
                other => {
                    return Err(err(path, format!("unknown statement element `{other}`")));
                }
            }
        }
        st.effect = effect.ok_or_else(|| err(path, "missing `Effect`"))?;
        if st.action.is_some() == st.not_action.is_some() {
            return Err(err(
                path,
                "a statement needs exactly one of `Action` and `NotAction`",
            ));
        }
        if st.resource.is_some() && st.not_resource.is_some() {
            return Err(err(
                path,
                "a statement cannot have both `Resource` and `NotResource`",
            ));
        }
        if st.principal.is_some() && st.not_principal.is_some() {
            return Err(err(
                path,
                "a statement cannot have both `Principal` and `NotPrincipal`",
            ));
        }
        Ok(st)
    }

    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        if let Some(sid) = &self.sid {
            m.insert("Sid".into(), Value::String(sid.clone()));
        }
        m.insert("Effect".into(), Value::String(self.effect.as_str().into()));
        if let Some(p) = &self.principal {
            m.insert("Principal".into(), principal_value(p));
        }
        if let Some(p) = &self.not_principal {
            m.insert("NotPrincipal".into(), principal_value(p));
        }
        for (key, list) in [
            ("Action", &self.action),
            ("NotAction", &self.not_action),
            ("Resource", &self.resource),
            ("NotResource", &self.not_resource),
        ] {
            if let Some(list) = list {
                m.insert(key.into(), fold_strings(list));
            }
        }
        if let Some(c) = &self.condition {
            let mut ops = Map::new();
            for (op, keys) in c {
                let mut km = Map::new();
                for (k, vals) in keys {
                    let v = if vals.len() == 1 {
                        vals[0].clone()
                    } else {
                        Value::Array(vals.clone())
                    };
                    km.insert(k.clone(), v);
                }
                ops.insert(op.clone(), Value::Object(km));
            }
            m.insert("Condition".into(), Value::Object(ops));
        }
        Value::Object(m)
    }
}

fn fold_strings(list: &[String]) -> Value {
    if list.len() == 1 {
        Value::String(list[0].clone())
    } else {
        Value::Array(list.iter().cloned().map(Value::String).collect())
    }
}

fn principal_value(p: &Principal) -> Value {
    match p {
        Principal::Star => Value::String("*".into()),
        Principal::Map(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), fold_strings(v)))
                .collect::<Map<_, _>>(),
        ),
    }
}

fn string(v: &Value, path: &str) -> Result<String, ParseError> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| err(path, "must be a string"))
}

fn strings(v: &Value, path: &str) -> Result<Vec<String>, ParseError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => {
            if items.is_empty() {
                return Err(err(path, "must not be an empty list"));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, x)| string(x, &format!("{path}[{i}]")))
                .collect()
        }
        _ => Err(err(path, "must be a string or a list of strings")),
    }
}

fn principal(v: &Value, path: &str) -> Result<Principal, ParseError> {
    match v {
        Value::String(s) if s == "*" => Ok(Principal::Star),
        Value::String(s) => Err(err(
            path,
            format!("`{s}` must be inside a map such as {{\"AWS\": \"{s}\"}}"),
        )),
        Value::Object(m) => {
            if m.is_empty() {
                return Err(err(path, "must not be empty"));
            }
            let mut out = BTreeMap::new();
            for (k, v) in m {
                match k.as_str() {
                    "AWS" | "Service" | "Federated" | "CanonicalUser" => {}
                    other => {
                        return Err(err(
                            path,
                            format!(
                                "unknown principal type `{other}` (expected `AWS`, `Service`, `Federated` or `CanonicalUser`)"
                            ),
                        ));
                    }
                }
                out.insert(k.clone(), strings(v, &format!("{path}.{k}"))?);
            }
            Ok(Principal::Map(out))
        }
        _ => Err(err(path, "must be \"*\" or a map of principal types")),
    }
}

fn condition(v: &Value, path: &str) -> Result<Condition, ParseError> {
    let ops = v
        .as_object()
        .ok_or_else(|| err(path, "must be a map of condition operators"))?;
    let mut out = Condition::new();
    for (op, keys) in ops {
        let keys = keys.as_object().ok_or_else(|| {
            err(
                format!("{path}.{op}"),
                "must be a map of condition keys to values",
            )
        })?;
        let mut km = BTreeMap::new();
        for (k, vals) in keys {
            let at = format!("{path}.{op}.{k}");
            let list = match vals {
                Value::Array(items) => {
                    if items.is_empty() {
                        return Err(err(at, "must not be an empty list"));
                    }
                    for x in items {
                        scalar(x, &at)?;
                    }
                    items.clone()
                }
                other => {
                    scalar(other, &at)?;
                    vec![other.clone()]
                }
            };
            km.insert(k.clone(), list);
        }
        out.insert(op.clone(), km);
    }
    Ok(out)
}

fn scalar(v: &Value, path: &str) -> Result<(), ParseError> {
    match v {
        Value::String(_) | Value::Bool(_) | Value::Number(_) => Ok(()),
        _ => Err(err(
            path,
            "condition values must be strings, booleans or numbers",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_object_and_scalars_parse() {
        let d = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"deny","NotAction":"s3:*","NotResource":"arn:aws:s3:::b/*","Principal":"*"}}"#,
        )
        .unwrap();
        assert_eq!(d.statements.len(), 1);
        let s = &d.statements[0];
        assert_eq!(s.effect, Effect::Deny);
        assert_eq!(s.not_action.as_deref(), Some(&["s3:*".to_string()][..]));
        assert_eq!(s.principal, Some(Principal::Star));
    }

    #[test]
    fn url_encoded_documents_are_decoded() {
        let enc = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22sts%3AAssumeRole%22%2C%22Principal%22%3A%7B%22Service%22%3A%22ec2.amazonaws.com%22%7D%7D%5D%7D";
        let d = PolicyDocument::parse(enc).unwrap();
        assert_eq!(
            d.statements[0].action.as_ref().unwrap()[0],
            "sts:AssumeRole"
        );
        // Already-decoded text is left alone, even if it contains a percent sign.
        let plain = r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/100%25/*"}]}"#;
        let d = PolicyDocument::parse(plain).unwrap();
        assert_eq!(
            d.statements[0].resource.as_ref().unwrap()[0],
            "arn:aws:s3:::b/100%25/*"
        );
    }

    #[test]
    fn errors_name_the_element() {
        let e = PolicyDocument::parse(
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:x","Prinicpal":"*"}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Statement[0]: unknown statement element `Prinicpal`"
        );
        let e = PolicyDocument::parse(r#"{"Statement":[{"Effect":"Maybe","Action":"s3:x"}]}"#)
            .unwrap_err();
        assert!(e.to_string().contains("`Maybe` is not an effect"), "{e}");
        let e = PolicyDocument::parse(r#"{"Statement":[{"Effect":"Allow"}]}"#).unwrap_err();
        assert!(e.to_string().contains("exactly one of `Action`"), "{e}");
        let e = PolicyDocument::parse("not json").unwrap_err();
        assert!(e.to_string().starts_with("not valid JSON"), "{e}");
        let e = PolicyDocument::parse(
            r#"{"Statement":[{"Effect":"Allow","Action":"a","Principal":"arn:aws:iam::1:root"}]}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("inside a map"), "{e}");
        let e = PolicyDocument::parse(
            r#"{"Statement":[{"Effect":"Allow","Action":"a","Condition":{"Bool":{"k":{"x":1}}}}]}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("condition values"), "{e}");
    }

    #[test]
    fn writing_folds_singletons_and_keeps_condition_types() {
        let text = r#"{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:root"]},"Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/*","Condition":{"Null":{"k":true},"NumericLessThan":{"n":[1,2]}}}]}"#;
        let d = PolicyDocument::parse(text).unwrap();
        assert_eq!(
            d.to_json(),
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"Null":{"k":true},"NumericLessThan":{"n":[1,2]}}}]}"#
        );
        assert_eq!(PolicyDocument::parse(&d.to_json()).unwrap(), d);
    }

    #[test]
    fn a_repeated_key_is_an_error_never_the_last_value() {
        // serde_json alone reads this as an Allow.
        let e = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Effect":"Allow"}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Statement[0]: the key `Effect` is repeated in one object (JSON parsers keep only the last value)"
        );
        // At the top, inside a condition, in a statements array, and URL-encoded (as IAM
        // returns documents).
        let e = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Version":"2012-10-17","Statement":[]}"#,
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("the key `Version` is repeated"),
            "{e}"
        );
        let e = PolicyDocument::parse_statements(
            r#"[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1","aws:SourceVpce":"vpce-2"}}}]"#,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("[0].Condition.StringNotEquals: the key `aws:SourceVpce` is repeated"),
            "{e}"
        );
        let encoded = percent_encoding::utf8_percent_encode(
            r#"{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"*","AWS":"arn:aws:iam::111111111111:root"}}]}"#,
            percent_encoding::NON_ALPHANUMERIC,
        )
        .to_string();
        let e = PolicyDocument::parse(&encoded).unwrap_err();
        assert!(e.to_string().contains("the key `AWS` is repeated"), "{e}");
        // Keys that differ in case are two keys (condition keys may be written so).
        assert!(
            PolicyDocument::parse_statements(
                r#"[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"a","aws:principaltag/TEAM":"b"}}}]"#
            )
            .is_ok()
        );
    }

    #[test]
    fn statements_array_parses() {
        let s = PolicyDocument::parse_statements(r#"[{"Sid":"s3wardDenyHttp","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]"#).unwrap();
        assert!(s[0].is_s3ward());
        assert!(PolicyDocument::parse_statements("3").is_err());
    }
}
