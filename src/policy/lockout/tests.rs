//! The self-lockout evaluation against hand-written statements and identities.

use super::*;
use crate::policy::PolicyDocument;

fn st(json: &str) -> Statement {
    PolicyDocument::parse_statements(json).unwrap().remove(0)
}

fn who_offline() -> Identity {
    Identity {
        account: "111111111111".into(),
        ..Default::default()
    }
}

#[test]
fn wildcards() {
    assert!(wildcard_match("s3:*", "s3:PutBucketPolicy", true));
    assert!(wildcard_match("S3:put*policy", "s3:PutBucketPolicy", true));
    assert!(wildcard_match("*", "anything", false));
    assert!(wildcard_match(
        "arn:aws:s3:::b*",
        "arn:aws:s3:::bucket",
        false
    ));
    assert!(!wildcard_match("arn:aws:s3:::b/*", "arn:aws:s3:::b", false));
    assert!(wildcard_match("a?c", "abc", false));
    assert!(!wildcard_match("a?c", "ac", false));
}

#[test]
fn unconditional_deny_to_everyone_locks_out() {
    let s = st(r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b"}"#);
    assert_eq!(
        denies(&s, &who_offline(), "s3:PutBucketPolicy", "arn:aws:s3:::b"),
        Tri::Yes
    );
    // Object-only resources do not touch the bucket.
    let s =
        st(r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}"#);
    assert_eq!(
        denies(&s, &who_offline(), "s3:PutBucketPolicy", "arn:aws:s3:::b"),
        Tri::No
    );
}

#[test]
fn tls_deny_does_not_lock_out() {
    let s = st(
        r#"{"Effect":"Deny","Principal":"*","Action":"*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
    );
    assert_eq!(
        denies(&s, &who_offline(), "s3:PutBucketPolicy", "arn:aws:s3:::b"),
        Tri::No
    );
}

#[test]
fn principal_arn_exceptions_need_the_identity() {
    let s = st(
        r#"{"Effect":"Deny","Principal":"*","Action":"s3:PutBucketPolicy","Resource":"arn:aws:s3:::b","Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::111111111111:role/admin*"}}}"#,
    );
    assert_eq!(
        denies(&s, &who_offline(), "s3:PutBucketPolicy", "arn:aws:s3:::b"),
        Tri::Unknown
    );
    let admin = Identity::from_caller_arn(
        "111111111111",
        "arn:aws:sts::111111111111:assumed-role/admin-s3ward/s3ward-plan",
    );
    assert_eq!(
        admin.role_arn.as_deref(),
        Some("arn:aws:iam::111111111111:role/admin-s3ward")
    );
    // Under another path (`role/x/admin-s3ward`) the pattern would not match.
    assert_eq!(
        denies(&s, &admin, "s3:PutBucketPolicy", "arn:aws:s3:::b"),
        Tri::Unknown
    );
    let admin = admin.with_role_arn("arn:aws:iam::111111111111:role/admin-s3ward");
    assert_eq!(
        denies(&s, &admin, "s3:PutBucketPolicy", "arn:aws:s3:::b"),
        Tri::No
    );
    let ci = Identity::from_caller_arn(
        "111111111111",
        "arn:aws:sts::111111111111:assumed-role/ci/s3ward-plan",
    )
    .with_role_arn("arn:aws:iam::111111111111:role/ci");
    assert_eq!(
        denies(&s, &ci, "s3:PutBucketPolicy", "arn:aws:s3:::b"),
        Tri::Yes
    );
}

#[test]
fn not_action_and_not_principal() {
    let s = st(
        r#"{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111111111111:root"},"NotAction":"s3:GetObject","Resource":"*"}"#,
    );
    // Offline the caller may be the root user, the only one this spares.
    assert_eq!(
        denies(&s, &who_offline(), "s3:PutBucketPolicy", "arn:aws:s3:::b"),
        Tri::Unknown
    );
    assert_eq!(
        denies(&s, &session(), "s3:PutBucketPolicy", "arn:aws:s3:::b"),
        Tri::Yes
    );
    let s = st(r#"{"Effect":"Deny","Principal":"*","NotAction":"s3:GetObject","Resource":"*"}"#);
    assert_eq!(
        denies(&s, &who_offline(), "s3:PutBucketPolicy", "arn:aws:s3:::b"),
        Tri::Yes
    );
}

const SESSION: &str = "arn:aws:sts::111111111111:assumed-role/s3ward/s3ward-ml";
const ROLE: &str = "arn:aws:iam::111111111111:role/s3ward";

fn session() -> Identity {
    Identity::from_caller_arn("111111111111", SESSION)
}

fn put_policy(json: &str, who: &Identity) -> Tri {
    denies(&st(json), who, "s3:PutBucketPolicy", "arn:aws:s3:::b")
}

#[test]
fn not_principal_spares_a_session_only_with_account_role_and_session() {
    let deny_but = |listed: &[&str]| {
        format!(
            r#"{{"Effect":"Deny","NotPrincipal":{{"AWS":{}}},"Action":"s3:*","Resource":"arn:aws:s3:::b"}}"#,
            serde_json::to_string(listed).unwrap()
        )
    };
    // The role's path is known (from `assume_role`).
    let who = session().with_role_arn(ROLE);
    // AWS's rule: the account, the role and the session must all be listed.
    assert_eq!(
        put_policy(&deny_but(&["111111111111", ROLE, SESSION]), &who),
        Tri::No
    );
    // Unknown path: `role/s3ward` may not be the role's ARN.
    assert_eq!(
        put_policy(&deny_but(&["111111111111", ROLE, SESSION]), &session()),
        Tri::Unknown
    );
    assert_eq!(
        put_policy(&deny_but(&["arn:aws:iam::111111111111:root", ROLE]), &who),
        Tri::Yes
    );
    assert_eq!(put_policy(&deny_but(&[SESSION]), &who), Tri::Yes);
    assert_eq!(
        put_policy(&deny_but(&["arn:aws:iam::111111111111:root"]), &who),
        Tri::Yes
    );
    assert_eq!(put_policy(&deny_but(&[ROLE, SESSION]), &who), Tri::Yes);
    // An IAM user: the user and the account.
    let user = Identity::from_caller_arn("111111111111", "arn:aws:iam::111111111111:user/ops/ci");
    assert_eq!(
        put_policy(
            &deny_but(&["arn:aws:iam::111111111111:user/ops/ci", "111111111111"]),
            &user
        ),
        Tri::No
    );
    assert_eq!(
        put_policy(&deny_but(&["arn:aws:iam::111111111111:user/ops/ci"]), &user),
        Tri::Yes
    );
    // Offline, only the account is known: listing it may or may not spare the caller.
    assert_eq!(
        put_policy(&deny_but(&["111111111111"]), &who_offline()),
        Tri::Unknown
    );
    assert_eq!(
        put_policy(&deny_but(&["222222222222"]), &who_offline()),
        Tri::Yes
    );
}

#[test]
fn principal_arn_is_the_role_arn_not_the_session_arn() {
    let except = |op: &str, arn: &str| {
        format!(
            r#"{{"Effect":"Deny","Principal":"*","Action":"s3:PutBucketPolicy","Resource":"arn:aws:s3:::b","Condition":{{"{op}":{{"aws:PrincipalArn":"{arn}"}}}}}}"#
        )
    };
    let who = session();
    // The session ARN is never the value of aws:PrincipalArn: this Deny hits s3ward.
    assert_eq!(
        put_policy(
            &except(
                "ArnNotLike",
                "arn:aws:sts::111111111111:assumed-role/s3ward/*"
            ),
            &who
        ),
        Tri::Yes
    );
    // A wildcard over every path spares the role whatever its path.
    assert_eq!(
        put_policy(
            &except("ArnNotLike", "arn:aws:iam::111111111111:role/*"),
            &who
        ),
        Tri::No
    );
    // The role's path is not known from STS: `role/s3ward` may or may not be it.
    assert_eq!(
        put_policy(&except("ArnNotEquals", ROLE), &who),
        Tri::Unknown
    );
    // Known from `assume_role`: the ARN with its path is the one compared.
    let known = session().with_role_arn("arn:aws:iam::111111111111:role/ops/s3ward");
    assert_eq!(
        put_policy(
            &except("ArnNotEquals", "arn:aws:iam::111111111111:role/ops/s3ward"),
            &known
        ),
        Tri::No
    );
    assert_eq!(put_policy(&except("ArnNotEquals", ROLE), &known), Tri::Yes);
    // Another account's roles cannot be s3ward, path or not.
    assert_eq!(
        put_policy(
            &except("ArnEquals", "arn:aws:iam::222222222222:role/s3ward"),
            &who
        ),
        Tri::No
    );
}

#[test]
fn conditions_s3ward_cannot_decide_are_named() {
    let deny_unless = |cond: &str| {
        format!(
            r#"{{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b","Condition":{cond}}}"#
        )
    };
    let who = session();
    for (cond, key) in [
        (
            r#"{"StringNotEquals":{"aws:SourceVpce":"vpce-1"}}"#,
            "aws:SourceVpce",
        ),
        (
            r#"{"StringNotEquals":{"aws:sourcevpc":"vpc-1"}}"#,
            "aws:sourcevpc",
        ),
        (
            r#"{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
            "aws:SourceIp",
        ),
        (
            r#"{"NotIpAddress":{"aws:VpcSourceIp":"10.0.0.0/8"}}"#,
            "aws:VpcSourceIp",
        ),
        (
            r#"{"StringNotEquals":{"aws:PrincipalOrgID":"o-1"}}"#,
            "aws:PrincipalOrgID",
        ),
        (
            r#"{"StringNotEquals":{"aws:PrincipalTag/team":"ml"}}"#,
            "aws:PrincipalTag/team",
        ),
        (
            r#"{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}"#,
            "aws:MultiFactorAuthPresent",
        ),
        (
            r#"{"DateGreaterThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}"#,
            "aws:CurrentTime",
        ),
    ] {
        let (t, why) = lockout_verdict(
            &st(&deny_unless(cond)),
            &who,
            "s3:PutBucketPolicy",
            "arn:aws:s3:::b",
        );
        assert_eq!(t, Tri::Unknown, "{cond}");
        assert_eq!(why, vec![Undecided::Condition(key.to_string())], "{cond}");
    }
    // Keys that s3ward's own requests never carry are decided: absent.
    for (cond, want) in [
        (r#"{"StringEquals":{"aws:SourceAccount":"1"}}"#, Tri::No),
        (r#"{"StringNotEquals":{"aws:SourceAccount":"1"}}"#, Tri::Yes),
        (
            r#"{"StringNotEqualsIfExists":{"s3:x-amz-acl":"private"}}"#,
            Tri::Yes,
        ),
        (
            r#"{"StringEqualsIfExists":{"s3:x-amz-acl":"private"}}"#,
            Tri::Yes,
        ),
        (r#"{"Null":{"aws:SourceArn":"true"}}"#, Tri::Yes),
        (r#"{"Null":{"aws:SourceArn":"false"}}"#, Tri::No),
        (
            r#"{"StringEquals":{"aws:PrincipalType":"AssumedRole"}}"#,
            Tri::Yes,
        ),
        (r#"{"Bool":{"aws:PrincipalIsAWSService":"true"}}"#, Tri::No),
        (
            r#"{"StringNotEquals":{"aws:PrincipalAccount":"111111111111"}}"#,
            Tri::No,
        ),
    ] {
        assert_eq!(put_policy(&deny_unless(cond), &who), want, "{cond}");
    }
}
