//! `s3ward why PLAN --principal P --action A --resource R [--live] [--context K=V]...`: load
//! the plan file, build the question (`access::offline`), evaluate it (`access`), print the
//! answer (`render::why`). Offline by default: no AWS call, no runtime. Exit 0 allowed,
//! 2 denied or depends, 1 error.

use std::io::Write;

use super::plan::load;
use crate::access::offline::{self, Asked, Question, live_policy};
use crate::access::{Decision, Evaluation, Identity, evaluate};
use crate::aws::Aws;
use crate::change::Address;
use crate::desired::{Desired, ObjectOwnership, PublicAccessBlock};
use crate::error::{Error, Exit};
use crate::live::{self, Session, Setting};
use crate::render::why as render;
use crate::settings::{ReportFormat, Settings, WhySettings};

pub fn run(global: &Settings, args: &WhySettings) -> Result<Exit, Error> {
    let desired = load(&args.plan, true, global.color_err)?;
    let asked = Asked {
        principal: args.principal.clone(),
        action: args.action.clone(),
        resource: args.resource.clone(),
        context: args.context.clone(),
    };
    let mut q = offline::ask(&desired, &asked).map_err(|e| Error::Usage(e.to_string()))?;
    if args.live {
        super::runtime().block_on(read_live(global, &desired, &mut q))?;
    }
    let key = q.key.for_action(&q.request.action);
    let mut verdict = evaluate(&Evaluation {
        request: &q.request,
        identity: &q.identity,
        bucket: &q.bucket,
        key: key.as_ref(),
    });
    verdict.not_evaluated.extend(q.unread.iter().cloned());
    verdict
        .not_evaluated
        .extend(q.key.not_evaluated(&q.request.action));
    let principal_arn = q
        .request
        .caller
        .session_arn()
        .unwrap_or_else(|| q.request.caller.principal_arn());
    let shown = render::Asked {
        principal: &args.principal,
        principal_arn: &principal_arn,
        action: &args.action,
        resource: &q.request.resource,
        live: args.live,
    };
    let mut out = super::stdout();
    match args.format {
        ReportFormat::Text => render::write_text(&mut out, &shown, &verdict, global.color_out),
        ReportFormat::Json => render::write_json(&mut out, &shown, &verdict),
    }
    .and_then(|()| out.flush())
    .map_err(Error::stdout)?;
    Ok(match verdict.decision {
        Decision::Allowed => Exit::Success,
        Decision::Denied | Decision::Depends => Exit::Differs,
    })
}

/// Replaces the plan file's documents in `q` with the live ones: the bucket's policy,
/// ownership and public access block; the role's inline policies and the documents of its
/// attached managed policies (each read once).
async fn read_live(global: &Settings, desired: &Desired, q: &mut Question) -> Result<(), Error> {
    let b = &desired.buckets[&q.bucket_key];
    let role = q.role_key.as_ref().and_then(|k| desired.roles.get(k));
    let mut accounts = vec![b.account.clone()];
    accounts.extend(role.map(|r| r.account.clone()));
    // The key policy only when the request makes S3 call KMS (not to list, say).
    let key = b
        .encryption
        .as_ref()
        .and_then(|e| e.plan_key())
        .and_then(|k| desired.keys.get(k))
        .filter(|_| crate::access::keys::kms_action(&q.request.action).is_some());
    accounts.extend(key.map(|k| k.account.clone()));
    let aws = Aws::connect(&global.aws).await;
    let session = Session::connect(aws, desired, Some(&accounts)).await?;
    let region = session.bucket_region(b);
    let lb = live::s3::read(
        &session,
        &b.account,
        &region,
        &b.name,
        &b.key,
        live::s3::BucketReads::ALL,
    )
    .await?;
    if let Some(k) = key {
        let lk = live::kms::read_key(&session, k).await?;
        let side = std::mem::replace(&mut q.key, crate::access::keys::KeySide::None);
        q.key = match lk.policy.doc.as_ref() {
            Ok(doc) => side.with_policy(Some(doc)),
            Err(_) => crate::access::keys::KeySide::NotEvaluated(format!(
                "the policy of key {}: it does not parse",
                k.arn
            )),
        };
    }
    q.bucket.policy = lb
        .policy
        .present()
        .and_then(|d| d.doc.as_ref().ok())
        .map(|d| live_policy("bucket policy", d));
    q.bucket.enforces_ownership = match &lb.ownership {
        Setting::Present(o) => Some(*o == ObjectOwnership::BucketOwnerEnforced),
        Setting::Absent => Some(false),
        Setting::NotRead => None,
    };
    q.bucket.public_access_block = match &lb.public_access_block {
        Setting::Present(p) => Some(*p),
        Setting::Absent => Some(PublicAccessBlock::all(false)),
        Setting::NotRead => None,
    };
    if let (Some(r), Some(key)) = (role, &q.role_key) {
        let lr = live::iam::read(
            &session,
            &r.account,
            &r.name,
            key,
            &live::iam::RoleReads::all(),
        )
        .await?;
        let arns: Vec<String> = lr
            .managed
            .present()
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        let docs =
            live::managed_policies::read(&session, &r.account, &arns, &Address::Role(key.clone()))
                .await?;
        let policies = crate::access::live::role_policies(&lr, &docs);
        q.identity = Identity::Known(policies);
        q.unread.clear();
    }
    Ok(())
}

/// The documents of the managed policies that expectations need, for `plan` and `drift`:
/// those the roles they name declare (each read once, all at once). No AWS call when the
/// selected expectations name no role with `managed_policies`. `plan` runs this beside its
/// reads: the list comes from the plan file, so it adds no round trip.
pub(super) async fn expectation_documents(
    session: &Session,
    desired: &Desired,
    selected: impl Fn(&Address) -> bool,
) -> Result<std::collections::BTreeMap<String, live::LiveDocument>, Error> {
    // One read per policy, in the account (and for the address) of a role that declares it.
    let mut by_role: std::collections::BTreeMap<(String, String), Vec<String>> = Default::default();
    for (arn, at) in crate::access::live::managed_to_read(desired, selected) {
        by_role.entry(at).or_default().push(arn);
    }
    let reads = by_role
        .into_iter()
        .map(|((account, key), arns)| async move {
            let address = Address::Role(key);
            live::managed_policies::read(session, &account, &arns, &address).await
        });
    let mut docs = std::collections::BTreeMap::new();
    for got in futures::future::join_all(reads).await {
        docs.extend(got?);
    }
    Ok(docs)
}
