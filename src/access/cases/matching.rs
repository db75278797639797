//! `Action`/`NotAction` and `Resource`/`NotResource`, with wildcards and policy variables.
//! Each row: an identity policy with one Allow statement (written as its `Action…` and
//! `Resource…` members) and a request; same account, bucket without a policy.

use super::*;

type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Decision,
);

#[rustfmt::skip]
const ROWS: &[Row] = &[
    // Actions: case-insensitive, `*` and `?`.
    (ACTION, r#""Action":"s3:GetObject","Resource":"*""#, "s3:GetObject", "arn:aws:s3:::b/k", A),
    (ACTION, r#""Action":"S3:GETOBJECT","Resource":"*""#, "s3:GetObject", "arn:aws:s3:::b/k", A),
    (ACTION, r#""Action":"s3:getobject","Resource":"*""#, "s3:GetObject", "arn:aws:s3:::b/k", A),
    (ACTION, r#""Action":"s3:*","Resource":"*""#, "s3:GetObject", "arn:aws:s3:::b/k", A),
    (ACTION, r#""Action":"*","Resource":"*""#, "s3:GetObject", "arn:aws:s3:::b/k", A),
    (ACTION, r#""Action":"s3:Get*","Resource":"*""#, "s3:GetObject", "arn:aws:s3:::b/k", A),
    (ACTION, r#""Action":"s3:Get*","Resource":"*""#, "s3:PutObject", "arn:aws:s3:::b/k", D),
    (ACTION, r#""Action":"s3:*Object","Resource":"*""#, "s3:PutObject", "arn:aws:s3:::b/k", A),
    (ACTION, r#""Action":"s3:*Object","Resource":"*""#, "s3:GetObjectVersion", "arn:aws:s3:::b/k", D),
    (ACTION, r#""Action":"s3:Get?bject","Resource":"*""#, "s3:GetObject", "arn:aws:s3:::b/k", A),
    (ACTION, r#""Action":"s3:Get?Object","Resource":"*""#, "s3:GetObject", "arn:aws:s3:::b/k", D),
    (ACTION, r#""Action":"s3:GetObject","Resource":"*""#, "s3:GetObjectVersion", "arn:aws:s3:::b/k", D),
    (ACTION, r#""Action":"s3:GetObjectVersion","Resource":"*""#, "s3:GetObject", "arn:aws:s3:::b/k", D),
    (ACTION, r#""Action":["s3:PutObject","s3:GetObject"],"Resource":"*""#, "s3:GetObject", "arn:aws:s3:::b/k", A),
    (ACTION, r#""Action":"kms:*","Resource":"*""#, "s3:GetObject", "arn:aws:s3:::b/k", D),
    (ACTION, r#""Action":"s3*","Resource":"*""#, "s3:GetObject", "arn:aws:s3:::b/k", A),
    (ACTION, r#""Action":"s3:List*","Resource":"*""#, "s3:ListBucket", "arn:aws:s3:::b", A),
    (ACTION, r#""Action":"s3:ListBucket","Resource":"*""#, "s3:ListBucketVersions", "arn:aws:s3:::b", D),
    (ACTION, r#""NotAction":"s3:PutObject","Resource":"*""#, "s3:GetObject", "arn:aws:s3:::b/k", A),
    (ACTION, r#""NotAction":"s3:PutObject","Resource":"*""#, "s3:PutObject", "arn:aws:s3:::b/k", D),
    (ACTION, r#""NotAction":"s3:*","Resource":"*""#, "s3:GetObject", "arn:aws:s3:::b/k", D),
    (ACTION, r#""NotAction":"iam:*","Resource":"*""#, "s3:GetObject", "arn:aws:s3:::b/k", A),
    (ACTION, r#""NotAction":["s3:Delete*","s3:Put*"],"Resource":"*""#, "s3:DeleteObject", "arn:aws:s3:::b/k", D),
    (ACTION, r#""NotAction":["s3:Delete*","s3:Put*"],"Resource":"*""#, "s3:GetObject", "arn:aws:s3:::b/k", A),
    (ACTION, r#""NotAction":"S3:GET*","Resource":"*""#, "s3:GetObject", "arn:aws:s3:::b/k", D),
    // Resources: case-sensitive, `*` crosses `/`, `?` is one character.
    (RESOURCE, r#""Action":"s3:*","Resource":"arn:aws:s3:::b/k""#, "s3:GetObject", "arn:aws:s3:::b/k", A),
    (RESOURCE, r#""Action":"s3:*","Resource":"arn:aws:s3:::b/K""#, "s3:GetObject", "arn:aws:s3:::b/k", D),
    (RESOURCE, r#""Action":"s3:*","Resource":"arn:aws:s3:::B/k""#, "s3:GetObject", "arn:aws:s3:::b/k", D),
    (RESOURCE, r#""Action":"s3:*","Resource":"arn:aws:s3:::b/*""#, "s3:GetObject", "arn:aws:s3:::b/a/b/c", A),
    (RESOURCE, r#""Action":"s3:*","Resource":"arn:aws:s3:::b/*""#, "s3:ListBucket", "arn:aws:s3:::b", D),
    (RESOURCE, r#""Action":"s3:*","Resource":"arn:aws:s3:::b""#, "s3:ListBucket", "arn:aws:s3:::b", A),
    (RESOURCE, r#""Action":"s3:*","Resource":"arn:aws:s3:::b""#, "s3:GetObject", "arn:aws:s3:::b/k", D),
    (RESOURCE, r#""Action":"s3:*","Resource":"arn:aws:s3:::b*""#, "s3:GetObject", "arn:aws:s3:::b/k", A),
    (RESOURCE, r#""Action":"s3:*","Resource":"arn:aws:s3:::b*""#, "s3:GetObject", "arn:aws:s3:::bb/k", A),
    (RESOURCE, r#""Action":"s3:*","Resource":"arn:aws:s3:::b/models/*""#, "s3:GetObject", "arn:aws:s3:::b/models/x", A),
    (RESOURCE, r#""Action":"s3:*","Resource":"arn:aws:s3:::b/models/*""#, "s3:GetObject", "arn:aws:s3:::b/modelsx", D),
    (RESOURCE, r#""Action":"s3:*","Resource":"arn:aws:s3:::b/models/*""#, "s3:GetObject", "arn:aws:s3:::b/Models/x", D),
    (RESOURCE, r#""Action":"s3:*","Resource":"arn:aws:s3:::b/?""#, "s3:GetObject", "arn:aws:s3:::b/k", A),
    (RESOURCE, r#""Action":"s3:*","Resource":"arn:aws:s3:::b/?""#, "s3:GetObject", "arn:aws:s3:::b/kk", D),
    (RESOURCE, r#""Action":"s3:*","Resource":"arn:aws:s3:::*/k""#, "s3:GetObject", "arn:aws:s3:::b/k", A),
    (RESOURCE, r#""Action":"s3:*","Resource":"arn:aws:s3:::*""#, "s3:GetObject", "arn:aws:s3:::b/k", A),
    (RESOURCE, r#""Action":"s3:*","Resource":"*""#, "s3:GetObject", "arn:aws:s3:::b/k", A),
    (RESOURCE, r#""Action":"s3:*","Resource":["arn:aws:s3:::x/*","arn:aws:s3:::b/*"]"#, "s3:GetObject", "arn:aws:s3:::b/k", A),
    (RESOURCE, r#""Action":"s3:*","Resource":"arn:aws:s3:::b/*.json""#, "s3:GetObject", "arn:aws:s3:::b/m/config.json", A),
    (RESOURCE, r#""Action":"s3:*","Resource":"arn:aws:s3:::b/*.json""#, "s3:GetObject", "arn:aws:s3:::b/m/model.bin", D),
    (RESOURCE, r#""Action":"s3:*","NotResource":"arn:aws:s3:::b/secret/*""#, "s3:GetObject", "arn:aws:s3:::b/k", A),
    (RESOURCE, r#""Action":"s3:*","NotResource":"arn:aws:s3:::b/secret/*""#, "s3:GetObject", "arn:aws:s3:::b/secret/k", D),
    (RESOURCE, r#""Action":"s3:*","NotResource":["arn:aws:s3:::x","arn:aws:s3:::b/*"]"#, "s3:GetObject", "arn:aws:s3:::b/k", D),
    (RESOURCE, r#""Action":"s3:*","NotResource":"arn:aws:s3:::B/*""#, "s3:GetObject", "arn:aws:s3:::b/k", A),
    // Policy variables in Resource (2012-10-17).
    (VARS, r#""Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:PrincipalAccount}/*""#, "s3:GetObject", "arn:aws:s3:::b/111111111111/k", A),
    (VARS, r#""Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:PrincipalAccount}/*""#, "s3:GetObject", "arn:aws:s3:::b/222222222222/k", D),
    (VARS, r#""Action":"s3:*","Resource":"arn:aws:s3:::b/home/${aws:username}/*""#, "s3:GetObject", "arn:aws:s3:::b/home/app/k", D),
    (VARS, r#""Action":"s3:*","Resource":"arn:aws:s3:::b/home/${aws:username,'shared'}/*""#, "s3:GetObject", "arn:aws:s3:::b/home/shared/k", A),
    (VARS, r#""Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:PrincipalTag/team}/*""#, "s3:GetObject", "arn:aws:s3:::b/ml/k", Q),
    (VARS, r#""Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:SourceArn}/*""#, "s3:GetObject", "arn:aws:s3:::b/x/k", D),
    (VARS, r#""Action":"s3:*","Resource":"arn:aws:s3:::b/${*}""#, "s3:GetObject", "arn:aws:s3:::b/k", A),
    (VARS, r#""Action":"s3:*","NotResource":"arn:aws:s3:::b/${aws:PrincipalAccount}/*""#, "s3:GetObject", "arn:aws:s3:::b/111111111111/k", D),
];

pub fn cases() -> Vec<Case> {
    let mut out: Vec<Case> = ROWS
        .iter()
        .map(|(rule, members, action, resource, expect)| {
            let mut c = Case::new(rule, *expect);
            c.identity = Some(format!(r#"[{{"Effect":"Allow",{members}}}]"#));
            c.action = action;
            c.resource = resource;
            c
        })
        .collect();
    // The same rows as a Deny beside an Allow of everything: a matching Deny denies,
    // one that does not match leaves the Allow (the rows' verdicts, allowed and denied
    // swapped; a Deny that depends makes the answer depend).
    for (rule, members, action, resource, expect) in ROWS {
        let mut c = Case::new(
            rule,
            match *expect {
                A => D,
                D => A,
                Q => Q,
            },
        );
        c.identity = Some(format!(
            r#"[{{"Effect":"Allow","Action":"*","Resource":"*"}},{{"Effect":"Deny",{members}}}]"#
        ));
        c.action = action;
        c.resource = resource;
        out.push(c);
    }
    // A variable in a 2008-10-17 document is text.
    let mut c = Case::new(VARS, A);
    c.identity = Some(
        r#"2008:[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${x}"}]"#.into(),
    );
    c.resource = "arn:aws:s3:::b/${x}";
    out.push(c);
    out
}
