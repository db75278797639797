//! Whole decisions: which sides must allow (same account, across accounts, delegation to an
//! account), explicit denies, `Principal`/`NotPrincipal`, role sessions, the public access
//! block, object ownership and the key side.

use super::*;

const ALLOW_GET: &str =
    r#"[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]"#;
const DENY_GET: &str = r#"[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}]"#;
const SESSION: &str = "arn:aws:sts::111111111111:assumed-role/app/pod-1";
const OTHER_SESSION: &str = "arn:aws:sts::222222222222:assumed-role/reader/s1";
const USER: &str = "arn:aws:iam::111111111111:user/alice";

/// A bucket policy of one statement to `principal` (JSON) with `effect`.
fn bp(effect: &str, principal: &str) -> String {
    format!(
        r#"[{{"Effect":"{effect}","Principal":{principal},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}]"#
    )
}

struct B(Case);

impl B {
    fn new(rule: &'static str, expect: Decision) -> B {
        B(Case::new(rule, expect))
    }
    fn caller(mut self, c: &'static str) -> B {
        self.0.caller = c;
        self
    }
    fn id(mut self, s: &str) -> B {
        self.0.identity = Some(s.into());
        self
    }
    fn bucket(mut self, s: &str) -> B {
        self.0.bucket = Some(s.into());
        self
    }
    fn external(mut self) -> B {
        self.0.external = true;
        self
    }
    fn restrict(mut self) -> B {
        self.0.restrict_public = true;
        self
    }
    fn owner(mut self, enforced: Option<bool>, owner: Option<&'static str>) -> B {
        self.0.enforced = enforced;
        self.0.object_owner = owner;
        self
    }
    fn key(mut self, account: &'static str, statements: &'static str) -> B {
        self.0.key = Some((account, statements));
        self
    }
    fn action(mut self, a: &'static str, r: &'static str) -> B {
        self.0.action = a;
        self.0.resource = r;
        self
    }
    fn ctx(mut self, c: &'static [(&'static str, &'static str)]) -> B {
        self.0.context = c;
        self
    }
}

const ROLE_P: &str = r#"{"AWS":"arn:aws:iam::111111111111:role/app"}"#;
const ROOT_P: &str = r#"{"AWS":"arn:aws:iam::111111111111:root"}"#;
const OTHER_P: &str = r#"{"AWS":"arn:aws:iam::222222222222:role/reader"}"#;
const OTHER_ROOT_P: &str = r#"{"AWS":"arn:aws:iam::222222222222:root"}"#;

const KEY_ROOT: &str = r#"[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"kms:*","Resource":"*"}]"#;
const KEY_ROLE: &str = r#"[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/app"},"Action":"kms:Decrypt","Resource":"*"}]"#;
const KEY_OTHER: &str = r#"[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"kms:*","Resource":"*"},{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:role/reader"},"Action":["kms:Decrypt","kms:GenerateDataKey"],"Resource":"*"}]"#;
const KEY_VIA: &str = r#"[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/app"},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}]"#;
const KEY_DENY: &str = r#"[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"kms:*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]"#;
const ID_S3_KMS: &str = r#"[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","kms:Decrypt","kms:GenerateDataKey"],"Resource":"*"}]"#;
const ID_S3_ONLY: &str =
    r#"[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"*"}]"#;

pub fn cases() -> Vec<Case> {
    let public = bp("Allow", r#""*""#);
    let rows: Vec<B> = vec![
        // Within one account: identity OR resource policy.
        B::new(SAME, A).id(ALLOW_GET),
        B::new(SAME, A).bucket(&bp("Allow", ROLE_P)),
        B::new(SAME, A).id(ALLOW_GET).bucket(&bp("Allow", ROLE_P)),
        B::new(SAME, D),
        B::new(SAME, D).id(r#"[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]"#),
        B::new(SAME, A).bucket(&public),
        B::new(SAME, A).caller(USER).bucket(&bp("Allow", r#"{"AWS":"arn:aws:iam::111111111111:user/alice"}"#)),
        B::new(SAME, A).caller(USER).id(ALLOW_GET),
        B::new(SAME, D).caller(USER).bucket(&bp("Allow", ROLE_P)),
        // Naming the account delegates to its IAM policies.
        B::new(PRINCIPAL, D).bucket(&bp("Allow", ROOT_P)),
        B::new(PRINCIPAL, A).id(ALLOW_GET).bucket(&bp("Allow", ROOT_P)),
        B::new(PRINCIPAL, D).bucket(&bp("Allow", r#"{"AWS":"111111111111"}"#)),
        B::new(PRINCIPAL, A).id(ALLOW_GET).bucket(&bp("Allow", r#"{"AWS":"111111111111"}"#)),
        // Only a whole `*` is a wildcard in Principal.
        B::new(PRINCIPAL, D).bucket(&bp("Allow", r#"{"AWS":"arn:aws:iam::111111111111:role/*"}"#)),
        B::new(PRINCIPAL, A).bucket(&bp("Allow", r#"{"AWS":"*"}"#)),
        B::new(PRINCIPAL, D).bucket(&bp("Allow", r#"{"Service":"s3.amazonaws.com"}"#)),
        B::new(PRINCIPAL, D).bucket(&bp("Allow", r#"{"AWS":"arn:aws:iam::111111111111:role/App"}"#)),
        B::new(PRINCIPAL, D).bucket(&bp("Allow", r#"{"AWS":"arn:aws:iam::111111111111:role/other"}"#)),
        B::new(PRINCIPAL, A).bucket(&bp("Allow", r#"{"AWS":["arn:aws:iam::111111111111:role/other","arn:aws:iam::111111111111:role/app"]}"#)),
        // Role sessions: naming the session, or the role, grants the session.
        B::new(PRINCIPAL, A).caller(SESSION).bucket(&bp("Allow", r#"{"AWS":"arn:aws:sts::111111111111:assumed-role/app/pod-1"}"#)),
        B::new(PRINCIPAL, D).caller(SESSION).bucket(&bp("Allow", r#"{"AWS":"arn:aws:sts::111111111111:assumed-role/app/pod-2"}"#)),
        B::new(PRINCIPAL, A).caller(SESSION).bucket(&bp("Allow", ROLE_P)),
        B::new(PRINCIPAL, D).bucket(&bp("Allow", r#"{"AWS":"arn:aws:sts::111111111111:assumed-role/app/pod-1"}"#)),
        // Explicit deny wins, on either side.
        B::new(EVAL, D).id(DENY_GET),
        B::new(EVAL, D).id(ALLOW_GET).bucket(&bp("Deny", ROLE_P)),
        B::new(EVAL, D).id(ALLOW_GET).bucket(&bp("Deny", r#""*""#)),
        B::new(EVAL, D).id(ALLOW_GET).bucket(&bp("Deny", ROOT_P)),
        B::new(EVAL, A).id(ALLOW_GET).bucket(&bp("Deny", OTHER_P)),
        B::new(EVAL, D).id(DENY_GET).bucket(&bp("Allow", ROLE_P)),
        B::new(EVAL, D).id(r#"[{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"},{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]"#),
        B::new(EVAL, Q).id(ALLOW_GET).bucket(r#"[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1"}}}]"#),
        B::new(EVAL, A).id(ALLOW_GET).bucket(r#"[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1"}}}]"#).ctx(&[("aws:SourceVpce", "vpce-1")]),
        B::new(EVAL, D).id(ALLOW_GET).bucket(r#"[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1"}}}]"#).ctx(&[("aws:SourceVpce", "vpce-2")]),
        B::new(EVAL, A).id(ALLOW_GET).bucket(r#"[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]"#),
        B::new(EVAL, A).id(ALLOW_GET).bucket(r#"[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}}]"#),
        B::new(EVAL, Q).bucket(r#"[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}}]"#),
        B::new(EVAL, D).bucket(r#"[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}}]"#).ctx(&[("aws:SourceVpce", "vpce-9")]),
        // Across accounts: both sides must allow.
        B::new(CROSS, D).caller(OTHER_ROLE).id(ALLOW_GET),
        B::new(CROSS, D).caller(OTHER_ROLE).bucket(&bp("Allow", OTHER_P)),
        B::new(CROSS, A).caller(OTHER_ROLE).id(ALLOW_GET).bucket(&bp("Allow", OTHER_P)),
        B::new(CROSS, A).caller(OTHER_ROLE).id(ALLOW_GET).bucket(&bp("Allow", OTHER_ROOT_P)),
        B::new(CROSS, A).caller(OTHER_ROLE).id(ALLOW_GET).bucket(&bp("Allow", r#"{"AWS":"222222222222"}"#)),
        B::new(CROSS, A).caller(OTHER_ROLE).id(ALLOW_GET).bucket(&public),
        B::new(CROSS, D).caller(OTHER_ROLE).bucket(&public),
        B::new(CROSS, D).caller(OTHER_ROLE).id(ALLOW_GET).bucket(&bp("Allow", ROOT_P)),
        B::new(CROSS, D).caller(OTHER_ROLE).id(ALLOW_GET).bucket(&bp("Allow", ROLE_P)),
        B::new(CROSS, D).caller(OTHER_ROLE).id(DENY_GET).bucket(&bp("Allow", OTHER_P)),
        B::new(CROSS, D).caller(OTHER_ROLE).id(ALLOW_GET).bucket(&format!(r#"[{},{}]"#, &bp("Allow", OTHER_P)[1..bp("Allow", OTHER_P).len() - 1], &bp("Deny", OTHER_P)[1..bp("Deny", OTHER_P).len() - 1])),
        B::new(CROSS, A).caller(OTHER_SESSION).id(ALLOW_GET).bucket(&bp("Allow", OTHER_P)),
        B::new(CROSS, A).caller(OTHER_SESSION).id(ALLOW_GET).bucket(&bp("Allow", r#"{"AWS":"arn:aws:sts::222222222222:assumed-role/reader/s1"}"#)),
        B::new(CROSS, D).caller(OTHER_SESSION).bucket(&bp("Allow", r#"{"AWS":"arn:aws:sts::222222222222:assumed-role/reader/s1"}"#)),
        B::new(CROSS, Q).caller(OTHER_ROLE).id(r#"[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"ml"}}}]"#).bucket(&bp("Allow", OTHER_P)),
        B::new(CROSS, A).caller(OTHER_ROLE).external().bucket(&bp("Allow", OTHER_P)),
        B::new(CROSS, D).caller(OTHER_ROLE).external(),
        B::new(CROSS, D).caller(OTHER_ROLE).external().bucket(&bp("Deny", OTHER_P)),
        // NotPrincipal: a Deny spares only a caller listed in every form.
        B::new(NOTPRINCIPAL, D).id(ALLOW_GET).bucket(&bp_not("Deny", r#"{"AWS":["arn:aws:iam::111111111111:root","arn:aws:iam::111111111111:role/app"]}"#)),
        B::new(NOTPRINCIPAL, A).caller(SESSION).id(ALLOW_GET).bucket(&bp_not("Deny", r#"{"AWS":["arn:aws:iam::111111111111:root","arn:aws:iam::111111111111:role/app","arn:aws:sts::111111111111:assumed-role/app/pod-1"]}"#)),
        B::new(NOTPRINCIPAL, D).caller(SESSION).id(ALLOW_GET).bucket(&bp_not("Deny", r#"{"AWS":["arn:aws:iam::111111111111:role/app","arn:aws:sts::111111111111:assumed-role/app/pod-1"]}"#)),
        B::new(NOTPRINCIPAL, A).caller(USER).id(ALLOW_GET).bucket(&bp_not("Deny", r#"{"AWS":["arn:aws:iam::111111111111:root","arn:aws:iam::111111111111:user/alice"]}"#)),
        B::new(NOTPRINCIPAL, D).caller(USER).id(ALLOW_GET).bucket(&bp_not("Deny", r#"{"AWS":["arn:aws:iam::111111111111:user/alice"]}"#)),
        B::new(NOTPRINCIPAL, D).id(ALLOW_GET).bucket(&bp_not("Deny", OTHER_P)),
        B::new(NOTPRINCIPAL, A).bucket(&bp_not("Allow", OTHER_P)),
        // An Allow with NotPrincipal applies to a session unless every form is listed, too.
        B::new(NOTPRINCIPAL, A).caller(OTHER_ROLE).id(ALLOW_GET).bucket(&bp_not("Allow", OTHER_P)),
        B::new(NOTPRINCIPAL, D).caller(USER).bucket(&bp_not("Allow", r#"{"AWS":["arn:aws:iam::111111111111:root","arn:aws:iam::111111111111:user/alice"]}"#)),
        // RestrictPublicBuckets: a public policy keeps only the owner's account.
        B::new(PAB, D).caller(OTHER_ROLE).id(ALLOW_GET).bucket(&public).restrict(),
        B::new(PAB, A).bucket(&public).restrict(),
        B::new(PAB, A).id(ALLOW_GET).bucket(&public).restrict(),
        B::new(PAB, A).caller(OTHER_ROLE).id(ALLOW_GET).bucket(&bp("Allow", OTHER_P)).restrict(),
        B::new(PAB, A).caller(OTHER_ROLE).id(ALLOW_GET).bucket(&public),
        B::new(PAB, D).caller(OTHER_ROLE).id(ALLOW_GET).bucket(&format!(r#"[{},{}]"#, &public[1..public.len() - 1], &bp("Allow", OTHER_P)[1..bp("Allow", OTHER_P).len() - 1])).restrict(),
        // Object ownership: another account's object is governed by its ACL.
        B::new(OWNERSHIP, A).id(ALLOW_GET).owner(Some(true), Some("333333333333")),
        B::new(OWNERSHIP, Q).id(ALLOW_GET).owner(Some(false), Some("333333333333")),
        B::new(OWNERSHIP, A).id(ALLOW_GET).owner(Some(false), None),
        B::new(OWNERSHIP, A).id(ALLOW_GET).owner(Some(false), Some("111111111111")),
        B::new(OWNERSHIP, A).id(ALLOW_GET).owner(None, None),
        B::new(OWNERSHIP, A).caller(OTHER_ROLE).id(ALLOW_GET).bucket(&bp("Allow", OTHER_P)).owner(Some(false), Some("222222222222")),
        B::new(OWNERSHIP, D).id(DENY_GET).owner(Some(false), Some("111111111111")),
        B::new(S3AUTH, A).id(r#"[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}]"#).owner(Some(false), Some("333333333333")).action("s3:ListBucket", "arn:aws:s3:::b"),
        B::new(S3AUTH, A).id(r#"[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"s3:prefix":"evals/*"}}}]"#).action("s3:ListBucket", "arn:aws:s3:::b/evals/"),
        B::new(S3AUTH, D).id(r#"[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"s3:prefix":"evals/*"}}}]"#).action("s3:ListBucket", "arn:aws:s3:::b/models/"),
        B::new(S3AUTH, D).id(r#"[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"s3:prefix":"evals/*"}}}]"#).action("s3:ListBucket", "arn:aws:s3:::b"),
        // The key side of SSE-KMS.
        B::new(KMS, A).id(ID_S3_KMS).key("111111111111", KEY_ROOT),
        B::new(KMS, D).id(ID_S3_ONLY).key("111111111111", KEY_ROOT),
        B::new(KMS, A).id(ID_S3_ONLY).key("111111111111", KEY_ROLE),
        B::new(KMS, D).id(ID_S3_KMS).key("111111111111", KEY_DENY),
        // S3 makes the KMS call: `kms:ViaService` is `s3.REGION.amazonaws.com` without asking.
        B::new(KMS, A).id(ID_S3_ONLY).key("111111111111", KEY_VIA),
        B::new(KMS, A).id(ID_S3_ONLY).key("111111111111", KEY_VIA).ctx(&[("kms:ViaService", "s3.us-east-1.amazonaws.com")]),
        B::new(KMS, D).id(ID_S3_ONLY).key("111111111111", KEY_VIA).ctx(&[("kms:ViaService", "ec2.us-east-1.amazonaws.com")]),
        B::new(KMS, D).id(ID_S3_KMS).key("111111111111", KEY_ROLE).action("s3:PutObject", "arn:aws:s3:::b/k"),
        B::new(KMS, A).caller(OTHER_ROLE).id(ID_S3_KMS).bucket(&bp("Allow", OTHER_P)).key("111111111111", KEY_OTHER),
        B::new(KMS, D).caller(OTHER_ROLE).id(ID_S3_ONLY).bucket(&bp("Allow", OTHER_P)).key("111111111111", KEY_OTHER),
        B::new(KMS, D).caller(OTHER_ROLE).id(ID_S3_KMS).bucket(&bp("Allow", OTHER_P)).key("111111111111", KEY_ROOT),
        B::new(KMS, A).caller(OTHER_ROLE).id(ID_S3_KMS).bucket(r#"[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:role/reader"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*"}]"#).key("111111111111", KEY_OTHER).action("s3:PutObject", "arn:aws:s3:::b/k"),
        B::new(KMS, D).key("111111111111", KEY_ROLE),
    ];
    rows.into_iter().map(|b| b.0).collect()
}

fn bp_not(effect: &str, principal: &str) -> String {
    format!(
        r#"[{{"Effect":"{effect}","NotPrincipal":{principal},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}]"#
    )
}
