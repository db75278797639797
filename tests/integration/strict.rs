//! The test server refuses what AWS refuses and moto alone would accept
//! (`tests/support/moto_server.py`), and its test hooks work. Each rule is shown refusing,
//! and the matching valid request passing.

use std::time::Duration;

use aws_sdk_iam::Client as IamClient;
use aws_sdk_s3::Client as S3Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    AccessControlPolicy, BucketCannedAcl, Grant, Grantee, ObjectCannedAcl, ObjectOwnership, Owner,
    OwnershipControls, OwnershipControlsRule, Permission, PublicAccessBlockConfiguration, Type,
};
use serde_json::json;

use crate::support::{
    AMBIENT_ACCOUNT, MOTO_OWNER_ID, PRINCIPAL_DELAY_HEADER, moto, ok, sdk, service_error, unique,
};

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const FOREIGN_OWNER_ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

async fn bucket(s3: &S3Client, prefix: &str) -> String {
    let name = unique(prefix);
    ok(s3.create_bucket().bucket(&name).send().await);
    name
}

fn ownership(o: ObjectOwnership) -> OwnershipControls {
    OwnershipControls::builder()
        .rules(
            OwnershipControlsRule::builder()
                .object_ownership(o)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

async fn enforce_ownership(s3: &S3Client, bucket: &str) {
    ok(s3
        .put_bucket_ownership_controls()
        .bucket(bucket)
        .ownership_controls(ownership(ObjectOwnership::BucketOwnerEnforced))
        .send()
        .await);
}

async fn put_object(s3: &S3Client, bucket: &str, key: &str) {
    ok(s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await);
}

fn acl_policy(grants: Vec<Grant>) -> AccessControlPolicy {
    AccessControlPolicy::builder()
        .owner(Owner::builder().id(MOTO_OWNER_ID).build())
        .set_grants(Some(grants))
        .build()
}

fn grant(grantee: Grantee, permission: Permission) -> Grant {
    Grant::builder()
        .grantee(grantee)
        .permission(permission)
        .build()
}

fn owner_grantee() -> Grantee {
    Grantee::builder()
        .r#type(Type::CanonicalUser)
        .id(MOTO_OWNER_ID)
        .build()
        .unwrap()
}

fn all_users_grantee() -> Grantee {
    Grantee::builder()
        .r#type(Type::Group)
        .uri(ALL_USERS)
        .build()
        .unwrap()
}

fn bucket_policy(bucket: &str, statement: serde_json::Value) -> String {
    let mut statement = statement;
    statement["Action"] = json!("s3:GetObject");
    statement["Resource"] = json!(format!("arn:aws:s3:::{bucket}/*"));
    json!({"Version": "2012-10-17", "Statement": [statement]}).to_string()
}

fn trust_policy(principal: serde_json::Value) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
    })
    .to_string()
}

async fn create_role(iam: &IamClient, name: &str, trust: &str) -> String {
    let out = ok(iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .send()
        .await);
    out.role().expect("role").arn().to_string()
}

/// Long enough for the server to accept a principal created before it.
async fn wait_for_propagation() {
    tokio::time::sleep(moto().principal_delay + Duration::from_millis(300)).await;
}

// --- Rule 1 -------------------------------------------------------------------------------

#[tokio::test]
async fn bucket_owner_enforced_is_refused_while_the_bucket_acl_grants_others() {
    let s3 = sdk(None).await.s3;
    let b = bucket(&s3, "strict-acl-own").await;
    ok(s3
        .put_bucket_acl()
        .bucket(&b)
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await);

    let err = service_error(
        s3.put_bucket_ownership_controls()
            .bucket(&b)
            .ownership_controls(ownership(ObjectOwnership::BucketOwnerEnforced))
            .send()
            .await,
    );
    assert_eq!(err.code, "InvalidBucketAclWithObjectOwnership");
    assert_eq!(err.status, 400);
    assert_eq!(
        err.message,
        "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"
    );

    // Other settings are not affected by the ACL.
    ok(s3
        .put_bucket_ownership_controls()
        .bucket(&b)
        .ownership_controls(ownership(ObjectOwnership::BucketOwnerPreferred))
        .send()
        .await);

    // The order AWS demands: reset the ACL to private, then enforce.
    ok(s3
        .put_bucket_acl()
        .bucket(&b)
        .acl(BucketCannedAcl::Private)
        .send()
        .await);
    enforce_ownership(&s3, &b).await;
    let got = ok(s3.get_bucket_ownership_controls().bucket(&b).send().await);
    let rule = &got.ownership_controls().unwrap().rules()[0];
    assert_eq!(
        rule.object_ownership(),
        &ObjectOwnership::BucketOwnerEnforced
    );
}

#[tokio::test]
async fn create_bucket_refuses_an_acl_with_bucket_owner_enforced() {
    let s3 = sdk(None).await.s3;
    let name = unique("strict-create");
    let err = service_error(
        s3.create_bucket()
            .bucket(&name)
            .acl(BucketCannedAcl::PublicRead)
            .object_ownership(ObjectOwnership::BucketOwnerEnforced)
            .send()
            .await,
    );
    assert_eq!(err.code, "InvalidBucketAclWithObjectOwnership");

    ok(s3
        .create_bucket()
        .bucket(&name)
        .object_ownership(ObjectOwnership::BucketOwnerEnforced)
        .send()
        .await);
}

// --- Rule 2 -------------------------------------------------------------------------------

#[tokio::test]
async fn acls_are_refused_under_bucket_owner_enforced() {
    let s3 = sdk(None).await.s3;
    let b = bucket(&s3, "strict-no-acls").await;
    put_object(&s3, &b, "k").await;

    // Before enforcement the same requests pass (the rule is about enforcement only).
    ok(s3
        .put_object_acl()
        .bucket(&b)
        .key("k")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await);
    ok(s3
        .put_object_acl()
        .bucket(&b)
        .key("k")
        .acl(ObjectCannedAcl::Private)
        .send()
        .await);
    enforce_ownership(&s3, &b).await;

    let refused = [
        service_error(
            s3.put_bucket_acl()
                .bucket(&b)
                .acl(BucketCannedAcl::PublicRead)
                .send()
                .await,
        ),
        service_error(
            s3.put_bucket_acl()
                .bucket(&b)
                .grant_read(format!("uri=\"{ALL_USERS}\""))
                .send()
                .await,
        ),
        service_error(
            s3.put_bucket_acl()
                .bucket(&b)
                .access_control_policy(acl_policy(vec![
                    grant(owner_grantee(), Permission::FullControl),
                    grant(all_users_grantee(), Permission::Read),
                ]))
                .send()
                .await,
        ),
        service_error(
            s3.put_object()
                .bucket(&b)
                .key("k2")
                .acl(ObjectCannedAcl::PublicRead)
                .body(ByteStream::from_static(b"x"))
                .send()
                .await,
        ),
        service_error(
            s3.put_object_acl()
                .bucket(&b)
                .key("k")
                .grant_full_control(format!("id=\"{FOREIGN_OWNER_ID}\""))
                .send()
                .await,
        ),
        service_error(
            s3.put_object_acl()
                .bucket(&b)
                .key("k")
                .access_control_policy(acl_policy(vec![grant(
                    all_users_grantee(),
                    Permission::Read,
                )]))
                .send()
                .await,
        ),
    ];
    for err in &refused {
        assert_eq!(err.code, "AccessControlListNotSupported", "{err:?}");
        assert_eq!(err.status, 400);
        assert_eq!(err.message, "The bucket does not allow ACLs");
    }

    // Owner-only ACLs are still accepted.
    ok(s3
        .put_bucket_acl()
        .bucket(&b)
        .acl(BucketCannedAcl::Private)
        .send()
        .await);
    ok(s3
        .put_bucket_acl()
        .bucket(&b)
        .access_control_policy(acl_policy(vec![grant(
            owner_grantee(),
            Permission::FullControl,
        )]))
        .send()
        .await);
    ok(s3
        .put_object()
        .bucket(&b)
        .key("k3")
        .acl(ObjectCannedAcl::BucketOwnerFullControl)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await);
    ok(s3
        .put_object_acl()
        .bucket(&b)
        .key("k")
        .acl(ObjectCannedAcl::Private)
        .send()
        .await);
    put_object(&s3, &b, "k4").await;
}

// --- Rule 3 -------------------------------------------------------------------------------

#[tokio::test]
async fn public_policies_are_refused_while_block_public_policy_is_on() {
    let s3 = sdk(None).await.s3;
    let b = bucket(&s3, "strict-public").await;
    let block = |on: bool| {
        PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(on)
            .restrict_public_buckets(true)
            .build()
    };
    ok(s3
        .put_public_access_block()
        .bucket(&b)
        .public_access_block_configuration(block(true))
        .send()
        .await);

    for principal in [json!("*"), json!({"AWS": "*"}), json!({"AWS": ["*"]})] {
        let policy = bucket_policy(&b, json!({"Effect": "Allow", "Principal": principal}));
        let err = service_error(
            s3.put_bucket_policy()
                .bucket(&b)
                .policy(policy)
                .send()
                .await,
        );
        assert_eq!(err.code, "AccessDenied", "{principal}");
        assert_eq!(err.status, 403);
        assert!(err.message.contains("BlockPublicPolicy"), "{}", err.message);
    }

    // Not public: a condition, a Deny, a named account.
    for statement in [
        json!({"Effect": "Allow", "Principal": "*",
               "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}}),
        json!({"Effect": "Deny", "Principal": "*"}),
        json!({"Effect": "Allow", "Principal": {"AWS": AMBIENT_ACCOUNT}}),
    ] {
        let policy = bucket_policy(&b, statement);
        ok(s3
            .put_bucket_policy()
            .bucket(&b)
            .policy(policy)
            .send()
            .await);
    }

    ok(s3
        .put_public_access_block()
        .bucket(&b)
        .public_access_block_configuration(block(false))
        .send()
        .await);
    let policy = bucket_policy(&b, json!({"Effect": "Allow", "Principal": "*"}));
    ok(s3
        .put_bucket_policy()
        .bucket(&b)
        .policy(policy)
        .send()
        .await);
}

// --- Rule 4 -------------------------------------------------------------------------------

#[tokio::test]
async fn bucket_policies_refuse_principals_that_do_not_exist_yet() {
    let c = sdk(None).await;
    let b = bucket(&c.s3, "strict-principal").await;
    let allow = |principal: serde_json::Value| {
        bucket_policy(&b, json!({"Effect": "Allow", "Principal": principal}))
    };

    let missing = format!("arn:aws:iam::{AMBIENT_ACCOUNT}:role/{}", unique("missing"));
    for policy in [
        allow(json!({"AWS": missing})),
        allow(json!({"AWS": [format!("{AMBIENT_ACCOUNT}"), missing]})),
        bucket_policy(
            &b,
            json!({"Effect": "Deny", "NotPrincipal": {"AWS": missing}}),
        ),
        allow(json!({"AWS": format!("arn:aws:iam::{AMBIENT_ACCOUNT}:user/{}", unique("nobody"))})),
    ] {
        let err = service_error(
            c.s3.put_bucket_policy()
                .bucket(&b)
                .policy(policy)
                .send()
                .await,
        );
        assert_eq!(err.code, "MalformedPolicy");
        assert_eq!(err.status, 400);
        assert_eq!(err.message, "Invalid principal in policy");
    }

    // Always fine: roots, bare ids, services, assumed-role sessions, anyone.
    ok(c.s3
        .put_bucket_policy()
        .bucket(&b)
        .policy(allow(json!({"AWS": [
            format!("arn:aws:iam::{AMBIENT_ACCOUNT}:root"),
            "111111111111",
            format!("arn:aws:sts::{AMBIENT_ACCOUNT}:assumed-role/gone/session"),
        ]})))
        .send()
        .await);
    ok(c.s3
        .put_bucket_policy()
        .bucket(&b)
        .policy(allow(json!({"Service": "cloudtrail.amazonaws.com"})))
        .send()
        .await);

    // A role created just now has not propagated; a little later it has.
    let role = unique("strict-fresh");
    let arn = create_role(
        &c.iam,
        &role,
        &trust_policy(json!({"Service": "ec2.amazonaws.com"})),
    )
    .await;
    assert_eq!(arn, format!("arn:aws:iam::{AMBIENT_ACCOUNT}:role/{role}"));
    // "Just now" made deterministic: this request asks for an hour of propagation.
    let err = service_error(
        c.s3.put_bucket_policy()
            .bucket(&b)
            .policy(allow(json!({"AWS": arn})))
            .customize()
            .mutate_request(|r| {
                r.headers_mut().insert(PRINCIPAL_DELAY_HEADER, "3600");
            })
            .send()
            .await,
    );
    assert_eq!(err.code, "MalformedPolicy");
    wait_for_propagation().await;
    ok(c.s3
        .put_bucket_policy()
        .bucket(&b)
        .policy(allow(json!({"AWS": arn})))
        .send()
        .await);
}

#[tokio::test]
async fn trust_policies_refuse_principals_that_do_not_exist_yet() {
    let iam = sdk(None).await.iam;
    let missing = format!("arn:aws:iam::{AMBIENT_ACCOUNT}:role/{}", unique("missing"));

    let name = unique("strict-trust");
    let err = service_error(
        iam.create_role()
            .role_name(&name)
            .assume_role_policy_document(trust_policy(json!({"AWS": missing})))
            .send()
            .await,
    );
    assert_eq!(err.code, "MalformedPolicyDocument");
    assert_eq!(err.status, 400);
    assert_eq!(
        err.message,
        format!("Invalid principal in policy: \"AWS\":\"{missing}\"")
    );

    // Accepted principals that need no lookup.
    create_role(&iam, &name, &trust_policy(json!({"AWS": "111111111111"}))).await;
    let trusted = unique("strict-trusted");
    let trusted_arn = create_role(
        &iam,
        &trusted,
        &trust_policy(json!({"Service": "ec2.amazonaws.com"})),
    )
    .await;

    let err = service_error(
        iam.update_assume_role_policy()
            .role_name(&name)
            .policy_document(trust_policy(json!({"AWS": [trusted_arn]})))
            .customize()
            .mutate_request(|r| {
                r.headers_mut().insert(PRINCIPAL_DELAY_HEADER, "3600");
            })
            .send()
            .await,
    );
    assert_eq!(err.code, "MalformedPolicyDocument");
    assert!(err.message.contains(&trusted_arn), "{}", err.message);
    wait_for_propagation().await;
    ok(iam
        .update_assume_role_policy()
        .role_name(&name)
        .policy_document(trust_policy(json!({"AWS": [trusted_arn]})))
        .send()
        .await);
    // The document stuck (IAM returns it URL-encoded).
    let role = ok(iam.get_role().role_name(&name).send().await);
    let doc = role.role().unwrap().assume_role_policy_document().unwrap();
    let doc = percent_encoding::percent_decode_str(doc).decode_utf8_lossy();
    assert!(doc.contains(&trusted_arn), "{doc}");

    let err = service_error(
        iam.update_assume_role_policy()
            .role_name(&name)
            .policy_document(trust_policy(
                json!({"AWS": format!("arn:aws:iam::{AMBIENT_ACCOUNT}:user/ghost")}),
            ))
            .send()
            .await,
    );
    assert_eq!(err.code, "MalformedPolicyDocument");
}

// --- Hooks and moto's own strictness ------------------------------------------------------

#[tokio::test]
async fn object_owner_hook_makes_another_account_own_an_object() {
    let s3 = sdk(None).await.s3;
    let b = bucket(&s3, "strict-owner").await;
    put_object(&s3, &b, "shard-00001.safetensors").await;
    put_object(&s3, &b, "config.json").await;
    let owner_of = |key: &'static str| {
        let s3 = s3.clone();
        let b = b.clone();
        async move {
            let acl = ok(s3.get_object_acl().bucket(&b).key(key).send().await);
            acl.owner()
                .and_then(|o| o.id())
                .unwrap_or_default()
                .to_string()
        }
    };
    assert_eq!(owner_of("shard-00001.safetensors").await, MOTO_OWNER_ID);

    moto().set_object_owner(&b, "shard-00001.safetensors", FOREIGN_OWNER_ID, "other");
    assert_eq!(owner_of("shard-00001.safetensors").await, FOREIGN_OWNER_ID);
    assert_eq!(owner_of("config.json").await, MOTO_OWNER_ID);

    let listed = ok(s3
        .list_objects_v2()
        .bucket(&b)
        .fetch_owner(true)
        .send()
        .await);
    let owners: Vec<(&str, &str)> = listed
        .contents()
        .iter()
        .map(|o| (o.key().unwrap(), o.owner().and_then(|w| w.id()).unwrap()))
        .collect();
    assert_eq!(
        owners,
        [
            ("config.json", MOTO_OWNER_ID),
            ("shard-00001.safetensors", FOREIGN_OWNER_ID)
        ]
    );

    // BucketOwnerEnforced makes the bucket owner own every object, as on AWS.
    enforce_ownership(&s3, &b).await;
    assert_eq!(owner_of("shard-00001.safetensors").await, MOTO_OWNER_ID);
}

#[tokio::test]
async fn conditional_put_refuses_to_overwrite() {
    let s3 = sdk(None).await.s3;
    let b = bucket(&s3, "strict-lock").await;
    let put = || {
        s3.put_object()
            .bucket(&b)
            .key("s3ward.lock")
            .if_none_match("*")
            .body(ByteStream::from_static(b"holder"))
            .send()
    };
    ok(put().await);
    let err = service_error(put().await);
    assert_eq!(err.code, "PreconditionFailed");
    assert_eq!(err.status, 412);
}
