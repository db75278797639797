//! `s3ward check`: model directories complete, objects owned by the bucket owner.
//! Exit 0 when all is well, 2 when something is wrong, 1 on error.
//!
//! Orchestration only: load the plan file, connect, list the model buckets (with a ticker),
//! hand the findings to `render::check`. It judges nothing itself (`check` does) and writes
//! no report line itself.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use super::plan::{load, log_stats};
use crate::aws::Aws;
use crate::check::ScanOutcome;
use crate::check::read::{BucketFindings, check_bucket, scan_bucket};
use crate::error::{Error, Exit};
use crate::live::Session;
use crate::plan_file::diagnostic::display_path;
use crate::render;
use crate::render::check::{BucketNote, Findings, JsonContext};
use crate::render::json::PlanFileRef;
use crate::settings::{CheckSettings, ReportFormat, Settings};

pub async fn run(global: &Settings, args: &CheckSettings) -> Result<Exit, Error> {
    let color = global.color_err;
    let desired = load(&args.plan, false, color)?;
    let buckets: Vec<_> = desired
        .buckets
        .values()
        .filter(|b| !b.models.is_empty())
        .collect();
    // `--all-objects` scans every bucket of the plan file, model directories or not.
    let whole: Vec<_> = match args.all_objects {
        Some(_) => desired.buckets.values().collect(),
        None => Vec::new(),
    };
    let aws = Aws::connect(&global.aws).await;
    let mut accounts: Vec<String> = buckets
        .iter()
        .chain(&whole)
        .map(|b| b.account.clone())
        .collect();
    accounts.sort();
    accounts.dedup();
    let session = Session::connect(aws, &desired, Some(&accounts)).await?;

    let listed = Arc::new(AtomicUsize::new(0));
    let template = if whole.is_empty() {
        "{spinner} listing model files: {pos} objects {elapsed}"
    } else {
        "{spinner} listing objects (--all-objects): {pos} objects {elapsed}"
    };
    let ticker = super::progress::Ticker::start(template, None, listed.clone());
    let max = args.all_objects.unwrap_or(0);
    let (results, scans) = futures::future::join(
        futures::future::join_all(
            buckets
                .iter()
                .map(|b| check_bucket(&session, b, listed.clone())),
        ),
        futures::future::join_all(
            whole
                .iter()
                .map(|b| scan_bucket(&session, b, max, listed.clone())),
        ),
    )
    .await;
    ticker.stop().await;
    log_stats(&session.aws);
    let mut models = Vec::new();
    let mut foreign = Vec::new();
    let mut bucket_notes = Vec::new();
    for (b, r) in buckets.iter().zip(results) {
        let BucketFindings {
            models: m,
            foreign: f,
            ownership_enforced,
            owners_checked,
        } = r?;
        models.extend(m);
        foreign.extend(f);
        bucket_notes.push(BucketNote {
            address: crate::change::Address::Bucket(b.key.clone()).to_string(),
            bucket: b.name.clone(),
            ownership_enforced,
            owners_checked,
            ownership_pending: b.enforces_ownership() && !ownership_enforced,
        });
    }
    let scans = scans.into_iter().collect::<Result<Vec<_>, _>>()?;
    if args.all_objects.is_some() {
        // The whole-bucket listings see what the model directories' saw, and more; one
        // list, each object once.
        foreign.extend(scans.iter().flat_map(|s| s.foreign.iter().cloned()));
        foreign.sort_by(|a, b| (&a.bucket_key, &a.key).cmp(&(&b.bucket_key, &b.key)));
        foreign.dedup_by(|a, b| a.bucket_key == b.bucket_key && a.key == b.key);
    }
    if models.is_empty() && args.all_objects.is_none() {
        eprintln!(
            "warning: `{}` declares no model directories (`[[buckets.KEY.models]]`); nothing to check",
            display_path(&args.plan)
        );
    }
    let mut ownership_pending: Vec<String> = buckets
        .iter()
        .chain(&whole)
        .filter(|b| b.enforces_ownership())
        .filter(|b| {
            let enforced = |k: &str| {
                bucket_notes
                    .iter()
                    .zip(&buckets)
                    .any(|(n, nb)| nb.key == k && n.ownership_enforced)
                    || scans
                        .iter()
                        .any(|s| s.bucket_key == k && s.outcome == ScanOutcome::OwnershipEnforced)
            };
            !enforced(&b.key)
        })
        .map(|b| b.key.clone())
        .collect();
    ownership_pending.sort();
    ownership_pending.dedup();
    let findings = Findings {
        models: &models,
        foreign: &foreign,
        ownership_pending: &ownership_pending,
        scans: args.all_objects.map(|_| scans.as_slice()),
    };
    let mut out = super::stdout();
    let written = match args.format {
        ReportFormat::Text => render::check::write_text(&mut out, findings),
        ReportFormat::Json => render::check::write_json(
            &mut out,
            findings,
            JsonContext {
                plan_file: PlanFileRef {
                    path: display_path(&desired.source.path),
                    name: &desired.name,
                    sha256: &desired.source.sha256,
                },
                generated_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                    .to_string(),
                buckets: &bucket_notes,
            },
        ),
    };
    written.and_then(|()| out.flush()).map_err(Error::stdout)?;
    Ok(if findings.ok() {
        Exit::Success
    } else {
        Exit::Differs
    })
}
