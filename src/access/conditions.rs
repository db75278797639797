//! The `Condition` element: every IAM condition operator (String*, Numeric*, Date*, Bool,
//! BinaryEquals, IpAddress/NotIpAddress, Arn*, Null), the `…IfExists` suffix and the
//! `ForAnyValue:`/`ForAllValues:` set operators, against a request [`Context`].
//!
//! IAM's rules, as the condition-operator reference states them: operators AND together, and
//! so do the keys under one operator; the values of one key OR together (NOR for a negated
//! operator). A key the request does not carry makes a condition false, except that negated
//! operators, `…IfExists` and `ForAllValues:` then hold, and `Null` tests exactly that. A key
//! whose value s3ward does not know makes the answer depend on it.

use std::net::IpAddr;

use super::Tri;
use super::matching::{arn_matches, wildcard_match};
use super::request::{Context, Lookup};
use super::variables::{Substituted, substitute};
use crate::policy::Condition;
use crate::policy::canonical::condition_value_text;

/// Whether every condition of a statement holds. `variables`: the document is `2012-10-17`,
/// so `${…}` in values is a policy variable.
pub fn conditions_hold(cond: &Condition, ctx: &Context, variables: bool) -> Tri {
    Tri::all(cond.iter().flat_map(|(op, keys)| {
        keys.iter().map(move |(key, values)| {
            let values: Vec<String> = values.iter().map(condition_value_text).collect();
            entry(op, key, &values, ctx, variables)
        })
    }))
}

/// The base operators: how one policy value compares with one request value.
#[derive(Clone, Copy)]
enum Base {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Numeric(fn(f64, f64) -> bool),
    Date(fn(f64, f64) -> bool),
    Bool,
    Binary,
    Ip,
    Arn,
}

/// `StringNotLike` → (StringLike, negated). `None`: not an operator IAM knows.
fn base(op: &str) -> Option<(Base, bool)> {
    let num = |f: fn(f64, f64) -> bool| Base::Numeric(f);
    let date = |f: fn(f64, f64) -> bool| Base::Date(f);
    Some(match op {
        "StringEquals" => (Base::StringEquals, false),
        "StringNotEquals" => (Base::StringEquals, true),
        "StringEqualsIgnoreCase" => (Base::StringEqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (Base::StringEqualsIgnoreCase, true),
        "StringLike" => (Base::StringLike, false),
        "StringNotLike" => (Base::StringLike, true),
        "NumericEquals" => (num(|r, p| r == p), false),
        "NumericNotEquals" => (num(|r, p| r == p), true),
        "NumericLessThan" => (num(|r, p| r < p), false),
        "NumericLessThanEquals" => (num(|r, p| r <= p), false),
        "NumericGreaterThan" => (num(|r, p| r > p), false),
        "NumericGreaterThanEquals" => (num(|r, p| r >= p), false),
        "DateEquals" => (date(|r, p| r == p), false),
        "DateNotEquals" => (date(|r, p| r == p), true),
        "DateLessThan" => (date(|r, p| r < p), false),
        "DateLessThanEquals" => (date(|r, p| r <= p), false),
        "DateGreaterThan" => (date(|r, p| r > p), false),
        "DateGreaterThanEquals" => (date(|r, p| r >= p), false),
        "Bool" => (Base::Bool, false),
        "BinaryEquals" => (Base::Binary, false),
        "IpAddress" => (Base::Ip, false),
        "NotIpAddress" => (Base::Ip, true),
        "ArnEquals" | "ArnLike" => (Base::Arn, false),
        "ArnNotEquals" | "ArnNotLike" => (Base::Arn, true),
        _ => return None,
    })
}

/// One `op: {key: values}` entry.
fn entry(op: &str, key: &str, policy: &[String], ctx: &Context, variables: bool) -> Tri {
    let (set, rest) = match op.split_once(':') {
        Some((s, r)) if s.eq_ignore_ascii_case("ForAnyValue") => (Set::Any, r),
        Some((s, r)) if s.eq_ignore_ascii_case("ForAllValues") => (Set::All, r),
        Some(_) => return Tri::depends(format!("{op} (unknown operator)")),
        None => (Set::Single, op),
    };
    let (if_exists, name) = match rest.strip_suffix("IfExists") {
        Some(b) if b != "Null" => (true, b),
        _ => (false, rest),
    };
    let request = match ctx.lookup(key) {
        Lookup::Unknown => return Tri::depends(key.to_string()),
        Lookup::Absent => None,
        Lookup::Values(v) => Some(v),
    };
    if name == "Null" {
        // `Null: true` — the key is absent; `false` — present.
        let want_absent = policy.iter().any(|v| v.eq_ignore_ascii_case("true"));
        return Tri::of(want_absent == request.is_none());
    }
    let Some((base, negated)) = base(name) else {
        return Tri::depends(format!("{op} (unknown operator)"));
    };
    let Some(request) = request else {
        return Tri::of(if_exists || negated || set == Set::All);
    };
    // Policy variables in the values, where the document allows them.
    let mut values = Vec::new();
    for v in policy {
        if !variables {
            values.push(v.clone());
            continue;
        }
        match substitute(v, ctx) {
            Substituted::Text(t) => values.push(t),
            Substituted::Absent => {}
            Substituted::Unknown(k) => return Tri::depends(k),
        }
    }
    let hit = |r: &String| values.iter().any(|p| matches(base, p, r));
    let holds = match (set, negated) {
        (Set::Single | Set::Any, false) => request.iter().any(hit),
        (Set::Single, true) => !request.iter().any(hit),
        (Set::Any, true) => request.iter().any(|r| !hit(r)),
        (Set::All, false) => request.iter().all(hit),
        (Set::All, true) => request.iter().all(|r| !hit(r)),
    };
    Tri::of(holds)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Set {
    Single,
    Any,
    All,
}

/// Whether request value `r` matches policy value `p` under `base`. A value that does not
/// parse (a number that is not one) matches nothing.
fn matches(base: Base, p: &str, r: &str) -> bool {
    match base {
        Base::StringEquals | Base::Binary => p == r,
        Base::StringEqualsIgnoreCase => p.to_lowercase() == r.to_lowercase(),
        Base::StringLike => wildcard_match(p, r, false),
        Base::Bool => p.eq_ignore_ascii_case(r),
        Base::Numeric(f) => match (r.trim().parse::<f64>(), p.trim().parse::<f64>()) {
            (Ok(r), Ok(p)) => f(r, p),
            _ => false,
        },
        Base::Date(f) => match (date(r), date(p)) {
            (Some(r), Some(p)) => f(r, p),
            _ => false,
        },
        Base::Ip => match (r.parse::<IpAddr>(), cidr(p)) {
            (Ok(ip), Some((net, len))) => in_network(ip, net, len),
            _ => false,
        },
        Base::Arn => arn_matches(p, r),
    }
}

/// ISO 8601 (`2026-01-01T00:00:00Z`, or a day) or epoch seconds, as seconds.
fn date(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<f64>() {
        return Some(n);
    }
    let full = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s.to_string()
    };
    let t = humantime::parse_rfc3339_weak(full.trim_end_matches('Z')).ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(d.as_secs_f64())
}

/// `10.0.0.0/8` (or a bare address) as the network and its prefix length.
fn cidr(s: &str) -> Option<(IpAddr, u32)> {
    let (addr, len) = match s.trim().split_once('/') {
        Some((a, l)) => (a.parse::<IpAddr>().ok()?, l.parse::<u32>().ok()?),
        None => {
            let a = s.trim().parse::<IpAddr>().ok()?;
            (a, if a.is_ipv4() { 32 } else { 128 })
        }
    };
    Some((addr, len))
}

fn in_network(ip: IpAddr, net: IpAddr, len: u32) -> bool {
    let (a, b, bits) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    if len > bits {
        return false;
    }
    if len == 0 {
        return true;
    }
    let shift = bits - len;
    (a >> shift) == (b >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_and_dates() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let (n, l) = cidr("10.1.0.0/16").unwrap();
        assert!(in_network(ip("10.1.2.3"), n, l));
        assert!(!in_network(ip("10.2.0.1"), n, l));
        let (n, l) = cidr("2001:db8::/32").unwrap();
        assert!(in_network(ip("2001:db8::1"), n, l));
        assert!(!in_network(ip("10.1.2.3"), n, l));
        assert!(date("2026-01-01T00:00:00Z").unwrap() < date("2026-01-02").unwrap());
        assert_eq!(date("0"), Some(0.0));
        assert_eq!(date("soon"), None);
    }
}
