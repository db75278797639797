//! [`CALLS`]: every AWS operation s3ward makes, with the IAM action it needs, what it acts
//! on and which commands make it (see `permissions`).

use super::{Call, On, When};

const fn call(
    service: &'static str,
    operation: &'static str,
    action: &'static str,
    on: On,
    when: When,
) -> Call {
    Call {
        service,
        operation,
        action,
        on,
        when,
    }
}

/// Every AWS operation s3ward makes. An operation made for two purposes (a read in `live/`
/// and again in `apply/writes/`, say) is listed once per purpose.
#[rustfmt::skip]
pub const CALLS: &[Call] = &[
    // live/sts.rs: the session.
    call("sts", "GetCallerIdentity", "sts:GetCallerIdentity", On::Nothing, When::Connect),
    call("sts", "AssumeRole", "sts:AssumeRole", On::AssumeRole, When::Connect),
    // live/s3.rs: the managed settings of each bucket.
    call("s3", "GetBucketPolicy", "s3:GetBucketPolicy", On::Bucket, When::Read),
    call("s3", "GetBucketTagging", "s3:GetBucketTagging", On::Bucket, When::Read),
    call("s3", "GetBucketAcl", "s3:GetBucketAcl", On::Bucket, When::Read),
    call("s3", "GetBucketOwnershipControls", "s3:GetBucketOwnershipControls", On::Bucket, When::Read),
    call("s3", "GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock", On::Bucket, When::Read),
    call("s3", "GetBucketLocation", "s3:GetBucketLocation", On::ImportOnly, When::Read),
    // live/kms.rs: keys, and the default encryption of buckets that manage it.
    call("s3", "GetBucketEncryption", "s3:GetEncryptionConfiguration", On::Bucket, When::Read),
    call("kms", "DescribeKey", "kms:DescribeKey", On::Key, When::Read),
    call("kms", "GetKeyPolicy", "kms:GetKeyPolicy", On::Key, When::Read),
    call("kms", "ListResourceTags", "kms:ListResourceTags", On::Key, When::Read),
    call("kms", "DescribeKey", "kms:DescribeKey", On::OutsideKey, When::Read),
    // live/iam.rs: the managed settings of each role.
    call("iam", "GetRole", "iam:GetRole", On::Role, When::Read),
    call("iam", "ListAttachedRolePolicies", "iam:ListAttachedRolePolicies", On::Role, When::Read),
    call("iam", "ListRolePolicies", "iam:ListRolePolicies", On::Role, When::Read),
    call("iam", "GetRolePolicy", "iam:GetRolePolicy", On::Role, When::Read),
    // live/iam.rs: the principals grants and trust entries name, checked before writing.
    call("iam", "GetRole", "iam:GetRole", On::NamedRole, When::Read),
    // live/iam_bulk.rs: the roles of an account where the plan reads ten or more.
    call("iam", "GetAccountAuthorizationDetails", "iam:GetAccountAuthorizationDetails", On::AccountRoles, When::Read),
    call("iam", "ListRoles", "iam:ListRoles", On::AccountRoleDescriptions, When::Read),
    call("iam", "GetUser", "iam:GetUser", On::NamedUser, When::Read),
    // live/managed_policies.rs: attached policies' documents, for `why --live`.
    // (plan and drift make them for the roles that expectations name.)
    call("iam", "GetPolicy", "iam:GetPolicy", On::ManagedPolicy, When::Read),
    call("iam", "GetPolicyVersion", "iam:GetPolicyVersion", On::ManagedPolicy, When::Read),
    // apply/writes/: buckets (the merge-mode policy and the tags read before writing).
    call("s3", "CreateBucket", "s3:CreateBucket", On::Bucket, When::Write),
    call("s3", "PutBucketPolicy", "s3:PutBucketPolicy", On::Bucket, When::Write),
    call("s3", "DeleteBucketPolicy", "s3:DeleteBucketPolicy", On::Bucket, When::Write),
    call("s3", "PutBucketAcl", "s3:PutBucketAcl", On::Bucket, When::Write),
    // Also what CreateBucket with `ObjectOwnership` needs.
    call("s3", "PutBucketOwnershipControls", "s3:PutBucketOwnershipControls", On::Bucket, When::Write),
    call("s3", "PutPublicAccessBlock", "s3:PutBucketPublicAccessBlock", On::Bucket, When::Write),
    call("s3", "PutBucketTagging", "s3:PutBucketTagging", On::Bucket, When::Write),
    call("s3", "GetBucketPolicy", "s3:GetBucketPolicy", On::Bucket, When::Write),
    call("s3", "GetBucketTagging", "s3:GetBucketTagging", On::Bucket, When::Write),
    // apply/writes/: roles (tags on CreateRole need iam:TagRole too).
    call("iam", "CreateRole", "iam:CreateRole", On::Role, When::Write),
    call("iam", "TagRole", "iam:TagRole", On::Role, When::Write),
    call("iam", "UpdateRole", "iam:UpdateRole", On::Role, When::Write),
    call("iam", "UpdateAssumeRolePolicy", "iam:UpdateAssumeRolePolicy", On::Role, When::Write),
    call("iam", "PutRolePolicy", "iam:PutRolePolicy", On::Role, When::Write),
    call("iam", "DeleteRolePolicy", "iam:DeleteRolePolicy", On::Role, When::Write),
    call("iam", "AttachRolePolicy", "iam:AttachRolePolicy", On::Role, When::Write),
    call("iam", "DetachRolePolicy", "iam:DetachRolePolicy", On::Role, When::Write),
    call("iam", "GetRole", "iam:GetRole", On::Role, When::Write),
    // apply/writes/key.rs: key policies (merge mode reads again), records, bucket encryption.
    call("kms", "PutKeyPolicy", "kms:PutKeyPolicy", On::Key, When::Write),
    call("kms", "GetKeyPolicy", "kms:GetKeyPolicy", On::Key, When::Write),
    call("kms", "TagResource", "kms:TagResource", On::Key, When::Write),
    call("s3", "PutBucketEncryption", "s3:PutEncryptionConfiguration", On::Bucket, When::Write),
    // live/eks.rs, apply/writes/pod_identity.rs: pod identity associations (tags on create
    // need eks:TagResource; EKS needs iam:PassRole on the role it is given).
    call("eks", "ListPodIdentityAssociations", "eks:ListPodIdentityAssociations", On::Cluster, When::Read),
    call("eks", "DescribePodIdentityAssociation", "eks:DescribePodIdentityAssociation", On::Cluster, When::Read),
    call("eks", "CreatePodIdentityAssociation", "eks:CreatePodIdentityAssociation", On::Cluster, When::Write),
    call("eks", "CreatePodIdentityAssociation", "eks:TagResource", On::Cluster, When::Write),
    call("eks", "CreatePodIdentityAssociation", "iam:PassRole", On::PassedRole, When::Write),
    call("eks", "UpdatePodIdentityAssociation", "eks:UpdatePodIdentityAssociation", On::Cluster, When::Write),
    call("eks", "UpdatePodIdentityAssociation", "iam:PassRole", On::PassedRole, When::Write),
    call("eks", "ListPodIdentityAssociations", "eks:ListPodIdentityAssociations", On::Cluster, When::Write),
    // apply/lock.rs: the lock object.
    call("s3", "GetObject", "s3:GetObject", On::LockObject, When::Write),
    call("s3", "PutObject", "s3:PutObject", On::LockObject, When::Write),
    call("s3", "DeleteObject", "s3:DeleteObject", On::LockObject, When::Write),
    // check/read.rs: model directories.
    call("s3", "GetBucketOwnershipControls", "s3:GetBucketOwnershipControls", On::Bucket, When::Check),
    call("s3", "GetBucketAcl", "s3:GetBucketAcl", On::Bucket, When::Check),
    call("s3", "ListObjectsV2", "s3:ListBucket", On::Bucket, When::Check),
    call("s3", "GetObject", "s3:GetObject", On::ModelObjects, When::Check),
];
