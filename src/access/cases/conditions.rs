//! Condition operators, `…IfExists`, `Null`, set operators and policy variables in values.
//! Each row: an identity policy allows `s3:GetObject` under one condition; the request
//! carries the key with the given value (`None`: s3ward does not know it; `"s3ward:absent"`:
//! the request does not carry it; `a,b`: two values). Allowed when the condition holds,
//! denied (implicitly) when it does not, depends when it needs the unknown value.

use super::*;

type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    Decision,
);

const ABSENT: Option<&str> = Some("s3ward:absent");

#[rustfmt::skip]
const ROWS: &[Row] = &[
    // String operators: exact and case-sensitive, IgnoreCase, Like with * and ?.
    (OPS, "StringEquals", "aws:PrincipalTag/team", r#"["ml"]"#, Some("ml"), A),
    (OPS, "StringEquals", "aws:PrincipalTag/team", r#"["ml"]"#, Some("ML"), D),
    (OPS, "StringEquals", "aws:PrincipalTag/team", r#"["ml","ops"]"#, Some("ops"), A),
    (OPS, "StringEquals", "aws:PrincipalTag/team", r#"["ml"]"#, Some("mlx"), D),
    (OPS, "StringEquals", "aws:PrincipalTag/team", r#"["ml"]"#, ABSENT, D),
    (OPS, "StringEquals", "aws:PrincipalTag/team", r#"["ml"]"#, None, Q),
    (OPS, "StringEquals", "aws:PrincipalTag/team", r#"["m*"]"#, Some("ml"), D),
    (OPS, "StringNotEquals", "aws:PrincipalTag/team", r#"["ml"]"#, Some("ops"), A),
    (OPS, "StringNotEquals", "aws:PrincipalTag/team", r#"["ml"]"#, Some("ml"), D),
    (OPS, "StringNotEquals", "aws:PrincipalTag/team", r#"["ml","ops"]"#, Some("ops"), D),
    (OPS, "StringNotEquals", "aws:PrincipalTag/team", r#"["ml"]"#, ABSENT, A),
    (OPS, "StringNotEquals", "aws:PrincipalTag/team", r#"["ml"]"#, None, Q),
    (OPS, "StringEqualsIgnoreCase", "aws:PrincipalTag/team", r#"["ML"]"#, Some("ml"), A),
    (OPS, "StringEqualsIgnoreCase", "aws:PrincipalTag/team", r#"["ML"]"#, Some("ops"), D),
    (OPS, "StringEqualsIgnoreCase", "aws:PrincipalTag/team", r#"["ML"]"#, ABSENT, D),
    (OPS, "StringNotEqualsIgnoreCase", "aws:PrincipalTag/team", r#"["ML"]"#, Some("ml"), D),
    (OPS, "StringNotEqualsIgnoreCase", "aws:PrincipalTag/team", r#"["ML"]"#, Some("ops"), A),
    (OPS, "StringNotEqualsIgnoreCase", "aws:PrincipalTag/team", r#"["ML"]"#, ABSENT, A),
    (OPS, "StringLike", "s3:x-amz-server-side-encryption", r#"["aws:*"]"#, Some("aws:kms"), A),
    (OPS, "StringLike", "aws:PrincipalTag/team", r#"["m?"]"#, Some("ml"), A),
    (OPS, "StringLike", "aws:PrincipalTag/team", r#"["m?"]"#, Some("mlx"), D),
    (OPS, "StringLike", "aws:PrincipalTag/team", r#"["M*"]"#, Some("ml"), D),
    (OPS, "StringLike", "aws:PrincipalTag/team", r#"["*"]"#, Some(""), A),
    (OPS, "StringLike", "aws:PrincipalTag/team", r#"["x*","*l"]"#, Some("ml"), A),
    (OPS, "StringLike", "aws:PrincipalTag/team", r#"["m*"]"#, ABSENT, D),
    (OPS, "StringLike", "aws:PrincipalTag/team", r#"["m*"]"#, None, Q),
    (OPS, "StringNotLike", "aws:PrincipalTag/team", r#"["m*"]"#, Some("ops"), A),
    (OPS, "StringNotLike", "aws:PrincipalTag/team", r#"["m*"]"#, Some("ml"), D),
    (OPS, "StringNotLike", "aws:PrincipalTag/team", r#"["m*"]"#, ABSENT, A),
    (OPS, "StringNotLike", "aws:PrincipalTag/team", r#"["o*","m*"]"#, Some("ml"), D),
    // Numeric operators.
    (OPS, "NumericEquals", "s3:max-keys", r#"["10"]"#, Some("10"), A),
    (OPS, "NumericEquals", "s3:max-keys", r#"[10]"#, Some("10.0"), A),
    (OPS, "NumericEquals", "s3:max-keys", r#"["10"]"#, Some("11"), D),
    (OPS, "NumericEquals", "s3:max-keys", r#"["10"]"#, Some("ten"), D),
    (OPS, "NumericNotEquals", "s3:max-keys", r#"["10"]"#, Some("11"), A),
    (OPS, "NumericNotEquals", "s3:max-keys", r#"["10"]"#, Some("10"), D),
    (OPS, "NumericNotEquals", "s3:max-keys", r#"["10"]"#, ABSENT, A),
    (OPS, "NumericLessThan", "s3:max-keys", r#"["10"]"#, Some("9"), A),
    (OPS, "NumericLessThan", "s3:max-keys", r#"["10"]"#, Some("10"), D),
    (OPS, "NumericLessThanEquals", "s3:max-keys", r#"["10"]"#, Some("10"), A),
    (OPS, "NumericLessThanEquals", "s3:max-keys", r#"["10"]"#, Some("11"), D),
    (OPS, "NumericGreaterThan", "s3:max-keys", r#"["10"]"#, Some("11"), A),
    (OPS, "NumericGreaterThan", "s3:max-keys", r#"["10"]"#, Some("10"), D),
    (OPS, "NumericGreaterThanEquals", "s3:max-keys", r#"["10"]"#, Some("10"), A),
    (OPS, "NumericGreaterThanEquals", "s3:max-keys", r#"["10"]"#, Some("9"), D),
    (OPS, "NumericLessThan", "s3:max-keys", r#"["10"]"#, ABSENT, D),
    (OPS, "NumericLessThan", "s3:max-keys", r#"["10"]"#, None, Q),
    (OPS, "NumericGreaterThan", "s3:max-keys", r#"["1","100"]"#, Some("50"), A),
    // Date operators: ISO 8601 and epoch seconds.
    (OPS, "DateLessThan", "aws:CurrentTime", r#"["2027-01-01T00:00:00Z"]"#, Some("2026-12-06T20:00:00Z"), A),
    (OPS, "DateLessThan", "aws:CurrentTime", r#"["2026-01-01T00:00:00Z"]"#, Some("2026-12-06T20:00:00Z"), D),
    (OPS, "DateGreaterThan", "aws:CurrentTime", r#"["2026-01-01T00:00:00Z"]"#, Some("2026-12-06T20:00:00Z"), A),
    (OPS, "DateGreaterThan", "aws:CurrentTime", r#"["2027-01-01T00:00:00Z"]"#, Some("2026-12-06T20:00:00Z"), D),
    (OPS, "DateEquals", "aws:CurrentTime", r#"["2026-12-06T20:00:00Z"]"#, Some("2026-12-06T20:00:00Z"), A),
    (OPS, "DateNotEquals", "aws:CurrentTime", r#"["2026-12-06T20:00:00Z"]"#, Some("2026-12-06T20:00:00Z"), D),
    (OPS, "DateLessThanEquals", "aws:CurrentTime", r#"["2026-12-06T20:00:00Z"]"#, Some("2026-12-06T20:00:00Z"), A),
    (OPS, "DateGreaterThanEquals", "aws:CurrentTime", r#"["2026-12-06T20:00:01Z"]"#, Some("2026-12-06T20:00:00Z"), D),
    (OPS, "DateGreaterThan", "aws:TokenIssueTime", r#"["1700000000"]"#, Some("2026-12-06T20:00:00Z"), A),
    (OPS, "DateLessThan", "aws:CurrentTime", r#"["2027-01-01T00:00:00Z"]"#, None, Q),
    (OPS, "DateLessThan", "aws:CurrentTime", r#"["2027-01-01T00:00:00Z"]"#, ABSENT, D),
    (OPS, "DateNotEquals", "aws:CurrentTime", r#"["2027-01-01T00:00:00Z"]"#, ABSENT, A),
    // Bool.
    (OPS, "Bool", "aws:SecureTransport", r#"["true"]"#, None, A),
    (OPS, "Bool", "aws:SecureTransport", r#"["false"]"#, None, D),
    (OPS, "Bool", "aws:SecureTransport", r#"[true]"#, None, A),
    (OPS, "Bool", "aws:SecureTransport", r#"["TRUE"]"#, None, A),
    (OPS, "Bool", "aws:SecureTransport", r#"["false"]"#, Some("false"), A),
    (OPS, "Bool", "aws:MultiFactorAuthPresent", r#"["true"]"#, None, Q),
    (OPS, "Bool", "aws:MultiFactorAuthPresent", r#"["true"]"#, ABSENT, D),
    (OPS, "Bool", "aws:MultiFactorAuthPresent", r#"["false"]"#, ABSENT, D),
    (OPS, "Bool", "aws:ViaAWSService", r#"["false"]"#, None, A),
    (OPS, "Bool", "aws:PrincipalIsAWSService", r#"["true"]"#, None, D),
    // BinaryEquals compares the base-64 text.
    (OPS, "BinaryEquals", "aws:PrincipalTag/key", r#"["QmluYXJ5VmFsdWU="]"#, Some("QmluYXJ5VmFsdWU="), A),
    (OPS, "BinaryEquals", "aws:PrincipalTag/key", r#"["QmluYXJ5VmFsdWU="]"#, Some("b3RoZXI="), D),
    (OPS, "BinaryEquals", "aws:PrincipalTag/key", r#"["QmluYXJ5VmFsdWU="]"#, ABSENT, D),
    // IP address operators, IPv4 and IPv6, CIDR and single address.
    (OPS, "IpAddress", "aws:SourceIp", r#"["203.0.113.0/24"]"#, Some("203.0.113.7"), A),
    (OPS, "IpAddress", "aws:SourceIp", r#"["203.0.113.0/24"]"#, Some("198.51.100.7"), D),
    (OPS, "IpAddress", "aws:SourceIp", r#"["203.0.113.7"]"#, Some("203.0.113.7"), A),
    (OPS, "IpAddress", "aws:SourceIp", r#"["203.0.113.7/32"]"#, Some("203.0.113.8"), D),
    (OPS, "IpAddress", "aws:SourceIp", r#"["0.0.0.0/0"]"#, Some("198.51.100.7"), A),
    (OPS, "IpAddress", "aws:SourceIp", r#"["2001:db8::/32"]"#, Some("2001:db8:1::5"), A),
    (OPS, "IpAddress", "aws:SourceIp", r#"["2001:db8::/32"]"#, Some("203.0.113.7"), D),
    (OPS, "IpAddress", "aws:SourceIp", r#"["10.0.0.0/8","203.0.113.0/24"]"#, Some("10.9.8.7"), A),
    (OPS, "IpAddress", "aws:SourceIp", r#"["203.0.113.0/24"]"#, None, Q),
    (OPS, "IpAddress", "aws:SourceIp", r#"["203.0.113.0/24"]"#, ABSENT, D),
    (OPS, "NotIpAddress", "aws:SourceIp", r#"["203.0.113.0/24"]"#, Some("198.51.100.7"), A),
    (OPS, "NotIpAddress", "aws:SourceIp", r#"["203.0.113.0/24"]"#, Some("203.0.113.9"), D),
    (OPS, "NotIpAddress", "aws:SourceIp", r#"["203.0.113.0/24"]"#, ABSENT, A),
    // ARN operators: component-wise wildcards.
    (OPS, "ArnEquals", "aws:PrincipalArn", r#"["arn:aws:iam::111111111111:role/app"]"#, None, A),
    (OPS, "ArnLike", "aws:PrincipalArn", r#"["arn:aws:iam::111111111111:role/*"]"#, None, A),
    (OPS, "ArnLike", "aws:PrincipalArn", r#"["arn:aws:iam::*:role/app"]"#, None, A),
    (OPS, "ArnLike", "aws:PrincipalArn", r#"["arn:aws:iam::222222222222:role/*"]"#, None, D),
    (OPS, "ArnLike", "aws:PrincipalArn", r#"["arn:aws:iam::*"]"#, None, D),
    (OPS, "ArnNotEquals", "aws:PrincipalArn", r#"["arn:aws:iam::111111111111:role/app"]"#, None, D),
    (OPS, "ArnNotLike", "aws:PrincipalArn", r#"["arn:aws:iam::222222222222:*"]"#, None, A),
    (OPS, "ArnLike", "aws:SourceArn", r#"["arn:aws:s3:::*"]"#, None, D),
    (OPS, "ArnNotLike", "aws:SourceArn", r#"["arn:aws:s3:::*"]"#, None, A),
    (OPS, "ArnLike", "aws:PrincipalArn", r#"["arn:aws:iam::111111111111:role/app"]"#, Some("arn:aws:iam::111111111111:role/App"), D),
    // …IfExists: holds when the key is absent, tests it when present.
    (OPS, "StringEqualsIfExists", "aws:PrincipalTag/team", r#"["ml"]"#, ABSENT, A),
    (OPS, "StringEqualsIfExists", "aws:PrincipalTag/team", r#"["ml"]"#, Some("ml"), A),
    (OPS, "StringEqualsIfExists", "aws:PrincipalTag/team", r#"["ml"]"#, Some("ops"), D),
    (OPS, "StringEqualsIfExists", "aws:PrincipalTag/team", r#"["ml"]"#, None, Q),
    (OPS, "StringLikeIfExists", "aws:PrincipalTag/team", r#"["m*"]"#, ABSENT, A),
    (OPS, "NumericLessThanIfExists", "s3:max-keys", r#"["10"]"#, ABSENT, A),
    (OPS, "NumericLessThanIfExists", "s3:max-keys", r#"["10"]"#, Some("20"), D),
    (OPS, "BoolIfExists", "aws:MultiFactorAuthPresent", r#"["true"]"#, ABSENT, A),
    (OPS, "BoolIfExists", "aws:MultiFactorAuthPresent", r#"["true"]"#, Some("false"), D),
    (OPS, "IpAddressIfExists", "aws:SourceIp", r#"["10.0.0.0/8"]"#, ABSENT, A),
    (OPS, "ArnLikeIfExists", "aws:SourceArn", r#"["arn:aws:s3:::x"]"#, None, A),
    (OPS, "DateLessThanIfExists", "aws:CurrentTime", r#"["2020-01-01T00:00:00Z"]"#, ABSENT, A),
    // Null: true means absent, false means present.
    (OPS, "Null", "aws:PrincipalTag/team", r#"["true"]"#, ABSENT, A),
    (OPS, "Null", "aws:PrincipalTag/team", r#"["true"]"#, Some("ml"), D),
    (OPS, "Null", "aws:PrincipalTag/team", r#"["false"]"#, Some("ml"), A),
    (OPS, "Null", "aws:PrincipalTag/team", r#"["false"]"#, ABSENT, D),
    (OPS, "Null", "aws:PrincipalTag/team", r#"[true]"#, None, Q),
    (OPS, "Null", "aws:SourceArn", r#"["true"]"#, None, A),
    (OPS, "Null", "aws:SecureTransport", r#"["false"]"#, None, A),
    // Set operators over multivalued keys.
    (SETS, "ForAnyValue:StringEquals", "aws:TagKeys", r#"["team","env"]"#, Some("env,owner"), A),
    (SETS, "ForAnyValue:StringEquals", "aws:TagKeys", r#"["team"]"#, Some("env,owner"), D),
    (SETS, "ForAnyValue:StringEquals", "aws:TagKeys", r#"["team"]"#, ABSENT, D),
    (SETS, "ForAnyValue:StringLike", "aws:TagKeys", r#"["t*"]"#, Some("env,team"), A),
    (SETS, "ForAnyValue:StringNotEquals", "aws:TagKeys", r#"["team"]"#, Some("team,env"), A),
    (SETS, "ForAnyValue:StringNotEquals", "aws:TagKeys", r#"["team"]"#, Some("team"), D),
    (SETS, "ForAllValues:StringEquals", "aws:TagKeys", r#"["team","env"]"#, Some("env,team"), A),
    (SETS, "ForAllValues:StringEquals", "aws:TagKeys", r#"["team","env"]"#, Some("env,owner"), D),
    (SETS, "ForAllValues:StringEquals", "aws:TagKeys", r#"["team"]"#, ABSENT, A),
    (SETS, "ForAllValues:StringLike", "aws:TagKeys", r#"["t*","e*"]"#, Some("env,team"), A),
    (SETS, "ForAllValues:StringNotEquals", "aws:TagKeys", r#"["secret"]"#, Some("env,team"), A),
    (SETS, "ForAllValues:StringNotEquals", "aws:TagKeys", r#"["secret"]"#, Some("env,secret"), D),
    (SETS, "ForAllValues:StringEquals", "aws:TagKeys", r#"["team"]"#, None, Q),
    (SETS, "ForAnyValue:StringEquals", "aws:TagKeys", r#"["team"]"#, None, Q),
    (SETS, "ForAnyValue:StringEqualsIfExists", "aws:TagKeys", r#"["team"]"#, ABSENT, A),
    (SETS, "forallvalues:StringEquals", "aws:TagKeys", r#"["team"]"#, Some("team"), A),
    // Condition keys are case-insensitive.
    (OPS, "StringEquals", "AWS:PRINCIPALTAG/TEAM", r#"["ml"]"#, Some("ml"), A),
    (OPS, "StringEquals", "aws:principalaccount", r#"["111111111111"]"#, None, A),
    (OPS, "StringEquals", "aws:PrincipalAccount", r#"["222222222222"]"#, None, D),
    (OPS, "StringEquals", "aws:PrincipalType", r#"["AssumedRole"]"#, None, A),
    (OPS, "StringEquals", "aws:username", r#"["app"]"#, None, D),
    (OPS, "Null", "aws:username", r#"["true"]"#, None, A),
    // Policy variables in condition values.
    (VARS, "StringEquals", "aws:PrincipalTag/owner", r#"["${aws:PrincipalTag/team}"]"#, Some("ml"), Q),
    (VARS, "StringLike", "s3:prefix", r#"["home/${aws:PrincipalAccount}/*"]"#, Some("home/111111111111/x"), A),
    (VARS, "StringLike", "s3:prefix", r#"["home/${aws:PrincipalAccount}/*"]"#, Some("home/222222222222/x"), D),
    (VARS, "StringEquals", "aws:PrincipalTag/team", r#"["${aws:username, 'ml'}"]"#, Some("ml"), A),
    (VARS, "StringEquals", "aws:PrincipalTag/team", r#"["${aws:username}"]"#, Some("ml"), D),
    (VARS, "StringEquals", "aws:PrincipalTag/team", r#"["a${*}b"]"#, Some("a*b"), A),
    (VARS, "StringEquals", "aws:PrincipalTag/team", r#"["${$}x"]"#, Some("$x"), A),
    // An operator IAM does not know cannot be decided.
    (OPS, "StringMaybe", "aws:PrincipalTag/team", r#"["ml"]"#, Some("ml"), Q),
];

pub fn cases() -> Vec<Case> {
    let mut out: Vec<Case> = ROWS
        .iter()
        .map(|(rule, op, key, values, ctx, expect)| {
            let mut c = Case::new(rule, *expect);
            c.identity = Some(format!(
                r#"[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{{"{op}":{{"{key}":{values}}}}}}}]"#
            ));
            c.context = match ctx {
                Some(v) => Box::leak(Box::new([(*key, *v)])),
                None => &[],
            };
            // The list request, for `s3:prefix` and `s3:max-keys`.
            if key.starts_with("s3:prefix") || key.starts_with("s3:max-keys") {
                c.identity = c.identity.map(|s| s.replace("s3:GetObject", "s3:ListBucket"));
                c.action = "s3:ListBucket";
                c.resource = "arn:aws:s3:::b";
            }
            c
        })
        .collect();
    // In a 2008-10-17 document `${…}` is text, not a variable.
    let mut c = Case::new(VARS, A);
    c.identity = Some(
        r#"2008:[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"${x}"}}}]"#.into(),
    );
    c.context = &[("aws:PrincipalTag/team", "${x}")];
    out.push(c);
    // Several keys under one operator, and several operators: all must hold.
    for (team, ip, expect) in [
        ("ml", "10.1.1.1", A),
        ("ops", "10.1.1.1", D),
        ("ml", "8.8.8.8", D),
    ] {
        let mut c = Case::new(OPS, expect);
        c.identity = Some(r#"[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"ml","aws:PrincipalAccount":"111111111111"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]"#.into());
        c.context = Box::leak(Box::new([
            ("aws:PrincipalTag/team", team),
            ("aws:SourceIp", ip),
        ]));
        out.push(c);
    }
    out
}
