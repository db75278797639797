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
use crate::check::read::{BucketFindings, check_bucket};
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
    let aws = Aws::connect(&global.aws).await;
    let mut accounts: Vec<String> = buckets.iter().map(|b| b.account.clone()).collect();
    accounts.sort();
    accounts.dedup();
    let session = Session::connect(aws, &desired, Some(&accounts)).await?;

    let listed = Arc::new(AtomicUsize::new(0));
    let ticker = super::progress::Ticker::start(
        "{spinner} listing model files: {pos} objects {elapsed}",
        None,
        listed.clone(),
    );
    let results = futures::future::join_all(
        buckets
            .iter()
            .map(|b| check_bucket(&session, b, listed.clone())),
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
    if models.is_empty() {
        eprintln!(
            "warning: `{}` declares no model directories (`[[buckets.KEY.models]]`); nothing to check",
            display_path(&args.plan)
        );
    }
    let ownership_pending: Vec<String> = bucket_notes
        .iter()
        .zip(&buckets)
        .filter(|(n, _)| n.ownership_pending)
        .map(|(_, b)| b.key.clone())
        .collect();
    let findings = Findings {
        models: &models,
        foreign: &foreign,
        ownership_pending: &ownership_pending,
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
