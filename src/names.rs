//! AWS naming rules, each written once: account ids, regions, S3 bucket names, IAM role and
//! policy names, IAM paths, managed policy ARNs, principal ARNs, service principals, tag keys
//! and values.
//!
//! Used by the plan-file resolver (`plan_file::resolve`), by `import` (reading live
//! principals) and by the `import` command's argument check, so that all three accept and
//! refuse the same names. Pure predicates and one parser: no I/O, no AWS call, and no
//! wording — callers decide what to tell the user and where. The rules are what AWS
//! documents (or enforces), a little stricter where s3ward cannot manage a name (bucket
//! names with dots of an IP address, `xn--`, `-s3alias`).

/// An AWS account id: exactly 12 digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A region name such as `us-east-1` or `us-gov-west-1`: a two-letter area, one or more
/// lower-case words, a number.
pub fn valid_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// An S3 bucket name s3ward can manage: 3 to 63 lower-case letters, digits, `.` and `-`,
/// starting and ending with a letter or digit; not shaped like an IP address, and none of
/// the prefixes and suffixes S3 reserves.
pub fn valid_bucket_name(n: &str) -> bool {
    let b = n.as_bytes();
    (3..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'.' || *c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && !n.contains("..")
        && !n.starts_with("xn--")
        && !n.ends_with("-s3alias")
        && n.split('.').filter(|p| p.parse::<u8>().is_ok()).count() != 4
}

/// An IAM role name (without its path): 1 to 64 letters, digits and `+ = , . @ _ -`.
pub fn valid_role_name(n: &str) -> bool {
    (1..=64).contains(&n.len())
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

/// An IAM inline policy name: 1 to 128 letters, digits and `+ = , . @ _ -`.
pub fn valid_policy_name(n: &str) -> bool {
    (1..=128).contains(&n.len())
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

/// An IAM path: starts and ends with `/`, no empty segment, printable ASCII, at most 512.
pub fn valid_iam_path(p: &str) -> bool {
    p.len() <= 512
        && p.starts_with('/')
        && p.ends_with('/')
        && !p.contains("//")
        && p.chars().all(|c| ('!'..='~').contains(&c))
}

/// A managed policy ARN: `arn:aws:iam::aws:policy/NAME` (AWS managed) or
/// `arn:aws:iam::ACCOUNT:policy/PATH/NAME` (customer managed).
pub fn valid_managed_policy_arn(a: &str) -> bool {
    let Some(rest) = a.strip_prefix("arn:") else {
        return false;
    };
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    parts.len() == 5
        && parts[0].starts_with("aws")
        && parts[1] == "iam"
        && parts[2].is_empty()
        && (parts[3] == "aws" || is_account_id(parts[3]))
        && parts[4].starts_with("policy/")
        && parts[4].len() > "policy/".len()
}

/// `arn:aws:iam::ACCOUNT:KIND/...` (or `:root`) → (account, kind, rest). Also accepts STS
/// assumed-role ARNs, which IAM accepts as principals.
pub fn parse_iam_arn(a: &str) -> Option<(String, String, String)> {
    let rest = a.strip_prefix("arn:")?;
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    if parts.len() != 5 || !parts[0].starts_with("aws") || !parts[2].is_empty() {
        return None;
    }
    if !is_account_id(parts[3]) {
        return None;
    }
    let resource = parts[4];
    match parts[1] {
        "iam" => {
            if resource == "root" {
                return Some((parts[3].into(), "root".into(), String::new()));
            }
            let (kind, name) = resource.split_once('/')?;
            if !matches!(kind, "role" | "user") || name.is_empty() || name.ends_with('/') {
                return None;
            }
            Some((parts[3].into(), kind.into(), name.into()))
        }
        "sts" => {
            let name = resource.strip_prefix("assumed-role/")?;
            Some((parts[3].into(), "assumed-role".into(), name.into()))
        }
        _ => None,
    }
}

/// The ARN of an account's root principal, `arn:aws:iam::ACCOUNT:root`.
pub fn account_root_arn(account_id: &str) -> String {
    format!("arn:aws:iam::{account_id}:root")
}

/// The ARN of the IAM OIDC identity provider `provider` (its host and path, such as
/// `oidc.eks.us-east-1.amazonaws.com/id/ABC123`) in an account.
pub fn oidc_provider_arn(account_id: &str, provider: &str) -> String {
    format!("arn:aws:iam::{account_id}:oidc-provider/{provider}")
}

/// `arn:aws:iam::ACCOUNT:oidc-provider/PROVIDER` → (account, provider).
pub fn parse_oidc_provider_arn(a: &str) -> Option<(&str, &str)> {
    a.strip_prefix("arn:aws:iam::")
        .and_then(|r| r.split_once(":oidc-provider/"))
        .filter(|(a, p)| is_account_id(a) && !p.is_empty())
}

/// An AWS service principal, such as `ec2.amazonaws.com` (or the China partition's
/// `.amazonaws.com.cn`).
pub fn is_service_principal(s: &str) -> bool {
    s.ends_with(".amazonaws.com") || s.ends_with(".amazonaws.com.cn")
}

/// A character AWS allows in tag keys and values (S3 and IAM share the rule).
pub fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || " _.:/=+-@".contains(c)
}

/// A tag key AWS reserves for itself (`aws:...`).
pub fn is_aws_reserved_tag_key(k: &str) -> bool {
    k.starts_with("aws:")
}

/// A tag key: 1 to 128 tag characters.
pub fn valid_tag_key(k: &str) -> bool {
    !k.is_empty() && k.chars().count() <= 128 && k.chars().all(is_tag_char)
}

/// A tag value: at most 256 tag characters (empty is allowed).
pub fn valid_tag_value(v: &str) -> bool {
    v.chars().count() <= 256 && v.chars().all(is_tag_char)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_bucket_name("acme-ml-models"));
        assert!(!valid_bucket_name("Acme"));
        assert!(!valid_bucket_name("ab"));
        assert!(!valid_bucket_name("a..b"));
        assert!(!valid_bucket_name("192.168.1.1"));
        assert!(valid_region("us-east-1"));
        assert!(valid_region("us-gov-west-1"));
        assert!(!valid_region("useast1"));
        assert!(valid_role_name("ray-cluster_node.1"));
        assert!(!valid_role_name("a b"));
        assert!(valid_iam_path("/ml/serving/"));
        assert!(!valid_iam_path("ml/"));
        assert!(valid_managed_policy_arn(
            "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
        ));
        assert!(valid_managed_policy_arn(
            "arn:aws:iam::111111111111:policy/x/y"
        ));
        assert!(!valid_managed_policy_arn("arn:aws:iam::1:policy/x"));
    }

    #[test]
    fn iam_arns() {
        assert_eq!(
            parse_iam_arn("arn:aws:iam::333333333333:role/anyscale/node"),
            Some(("333333333333".into(), "role".into(), "anyscale/node".into()))
        );
        assert_eq!(
            parse_iam_arn("arn:aws:iam::333333333333:root").map(|a| a.1),
            Some("root".into())
        );
        assert!(parse_iam_arn("arn:aws:s3:::bucket").is_none());
        assert!(parse_iam_arn("arn:aws:iam::33:role/x").is_none());
    }

    #[test]
    fn bucket_names_s3ward_cannot_manage() {
        assert!(valid_bucket_name("a.b-c"));
        assert!(!valid_bucket_name("-abc"));
        assert!(!valid_bucket_name("abc."));
        assert!(!valid_bucket_name("xn--abc"));
        assert!(!valid_bucket_name("models-s3alias"));
        assert!(!valid_bucket_name(&"a".repeat(64)));
        assert!(valid_bucket_name(&"a".repeat(63)));
    }

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!(is_account_id("111111111111"));
        assert!(!is_account_id("11111111111"));
        assert!(!is_account_id("1111111111111"));
        assert!(!is_account_id("11111111111a"));
    }

    #[test]
    fn principal_arns_kinds() {
        assert_eq!(
            parse_iam_arn("arn:aws:sts::111111111111:assumed-role/ci/session").map(|a| a.1),
            Some("assumed-role".into())
        );
        assert!(parse_iam_arn("arn:aws:iam::111111111111:group/ops").is_none());
        assert!(parse_iam_arn("arn:aws:iam::111111111111:role/").is_none());
        assert!(parse_iam_arn("arn:aws:iam::111111111111:role/ml/").is_none());
        assert!(parse_iam_arn("arn:aws-cn:iam::111111111111:user/u").is_some());
    }

    #[test]
    fn oidc_provider_arns_round_trip() {
        let provider = "oidc.eks.us-east-1.amazonaws.com/id/ABC123";
        let arn = oidc_provider_arn("111111111111", provider);
        assert_eq!(
            parse_oidc_provider_arn(&arn),
            Some(("111111111111", provider))
        );
        assert!(parse_oidc_provider_arn("arn:aws:iam::1:oidc-provider/x").is_none());
        assert!(parse_oidc_provider_arn("arn:aws:iam::111111111111:oidc-provider/").is_none());
        assert_eq!(
            account_root_arn("111111111111"),
            "arn:aws:iam::111111111111:root"
        );
    }

    #[test]
    fn service_principals() {
        assert!(is_service_principal("ec2.amazonaws.com"));
        assert!(is_service_principal("ec2.amazonaws.com.cn"));
        assert!(!is_service_principal("ec2.example.com"));
    }

    #[test]
    fn tags() {
        assert!(valid_tag_key("team"));
        assert!(valid_tag_key("cost center/ml:a=b+c-d@e_f.g"));
        assert!(!valid_tag_key(""));
        assert!(!valid_tag_key("a,b"));
        assert!(valid_tag_key(&"é".repeat(128)));
        assert!(!valid_tag_key(&"k".repeat(129)));
        assert!(valid_tag_value(""));
        assert!(valid_tag_value(&"v".repeat(256)));
        assert!(!valid_tag_value(&"v".repeat(257)));
        assert!(!valid_tag_value("a*b"));
        assert!(is_aws_reserved_tag_key("aws:cloudformation:stack"));
        assert!(!is_aws_reserved_tag_key("s3ward:applied"));
    }
}
