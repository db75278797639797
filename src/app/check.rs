//! `s3ward check`: model directories complete, objects owned by the bucket owner.
//! Exit 0 when all is well, 2 when something is wrong, 1 on error.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use serde::Serialize;

use super::plan::{aws_options, load, log_stats};
use crate::aws::Aws;
use crate::check::read::{BucketFindings, check_bucket};
use crate::check::{ForeignObject, ModelReport};
use crate::cli::{CheckArgs, Global, ReportFormat};
use crate::error::{Error, Exit};
use crate::live::Session;
use crate::plan_file::diagnostic::display_path;

#[derive(Serialize)]
struct JsonCheck<'a> {
    format_version: u32,
    s3ward_version: &'static str,
    generated_at: String,
    plan_file: crate::render::json::PlanFileRef<'a>,
    ok: bool,
    summary: Summary,
    buckets: Vec<JsonBucket>,
    models: Vec<JsonModel<'a>>,
    foreign_owned: &'a [ForeignObject],
}

#[derive(Serialize)]
struct Summary {
    models: usize,
    complete: usize,
    foreign_owned: usize,
}

#[derive(Serialize)]
struct JsonModel<'a> {
    address: String,
    bucket_key: &'a str,
    bucket: &'a str,
    prefix: &'a str,
    files: usize,
    bytes: i64,
    weight_files: usize,
    /// Each problem's fields, plus `message`: the sentence the text output prints.
    problems: Vec<serde_json::Value>,
    complete: bool,
}

#[derive(Serialize)]
struct JsonBucket {
    address: String,
    bucket: String,
    /// The bucket owns every object (BucketOwnerEnforced): owners need no check.
    ownership_enforced: bool,
    /// Object owners were compared with the bucket owner.
    owners_checked: bool,
}

fn json_model(m: &ModelReport) -> JsonModel<'_> {
    JsonModel {
        address: format!("bucket.{}", m.bucket_key),
        bucket_key: &m.bucket_key,
        bucket: &m.bucket,
        prefix: &m.prefix,
        files: m.files,
        bytes: m.bytes,
        weight_files: m.weight_files,
        problems: m
            .problems
            .iter()
            .map(|p| {
                let mut v = serde_json::to_value(p).expect("a problem serialises");
                v["message"] = serde_json::Value::String(p.to_string());
                v
            })
            .collect(),
        complete: m.complete(),
    }
}

pub async fn run(global: &Global, args: &CheckArgs) -> Result<Exit, Error> {
    let color = super::use_color(global.color, &std::io::stderr());
    let desired = load(&args.plan, false, color)?;
    let buckets: Vec<_> = desired
        .buckets
        .values()
        .filter(|b| !b.models.is_empty())
        .collect();
    let aws = Aws::connect(&aws_options(global)).await;
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
        bucket_notes.push(JsonBucket {
            address: format!("bucket.{}", b.key),
            bucket: b.name.clone(),
            ownership_enforced,
            owners_checked,
        });
    }
    if models.is_empty() {
        eprintln!(
            "warning: `{}` declares no model directories (`[[buckets.KEY.models]]`); nothing to check",
            display_path(&args.plan)
        );
    }
    let complete = models.iter().filter(|m| m.complete()).count();
    let ok = complete == models.len() && foreign.is_empty();
    let mut out = super::stdout();
    let written = match args.format {
        ReportFormat::Text => write_text(&mut out, &models, &foreign),
        ReportFormat::Json => {
            let doc = JsonCheck {
                format_version: 1,
                s3ward_version: env!("CARGO_PKG_VERSION"),
                generated_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                    .to_string(),
                plan_file: crate::render::json::PlanFileRef {
                    path: display_path(&desired.source.path),
                    name: &desired.name,
                    sha256: &desired.source.sha256,
                },
                ok,
                summary: Summary {
                    models: models.len(),
                    complete,
                    foreign_owned: foreign.len(),
                },
                buckets: bucket_notes,
                models: models.iter().map(json_model).collect(),
                foreign_owned: &foreign,
            };
            serde_json::to_writer_pretty(&mut out, &doc)
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(out))
        }
    };
    written.and_then(|()| out.flush()).map_err(Error::stdout)?;
    Ok(if ok { Exit::Success } else { Exit::Differs })
}

fn human_bytes(n: i64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < units.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

fn write_text(
    w: &mut dyn Write,
    models: &[ModelReport],
    foreign: &[ForeignObject],
) -> std::io::Result<()> {
    for m in models {
        let place = format!("bucket.{} s3://{}/{}", m.bucket_key, m.bucket, m.prefix);
        if m.complete() {
            writeln!(
                w,
                "ok    {place}: complete ({} files, {} weight file{}, {})",
                m.files,
                m.weight_files,
                crate::render::style::plural(m.weight_files),
                human_bytes(m.bytes)
            )?;
        } else {
            writeln!(
                w,
                "FAIL  {place}: {} problem{}",
                m.problems.len(),
                crate::render::style::plural(m.problems.len())
            )?;
            for p in &m.problems {
                writeln!(w, "        - {p}")?;
            }
        }
    }
    if !foreign.is_empty() {
        writeln!(
            w,
            "\nObjects owned by another account ({}): bucket policies do not apply to them, so readers in other accounts get `Permission denied`:",
            foreign.len()
        )?;
        for f in foreign.iter().take(50) {
            writeln!(
                w,
                "        - s3://{}/{} (owner {})",
                f.bucket, f.key, f.owner
            )?;
        }
        if foreign.len() > 50 {
            writeln!(
                w,
                "        ... and {} more (`--format json` lists all)",
                foreign.len() - 50
            )?;
        }
        let mut keys: Vec<&str> = foreign.iter().map(|f| f.bucket_key.as_str()).collect();
        keys.dedup();
        writeln!(
            w,
            "        fix: set `object_ownership = \"BucketOwnerEnforced\"` on {} and run `s3ward apply`: the bucket then owns every object, whoever uploaded it",
            keys.iter()
                .map(|k| format!("`[buckets.{k}]`"))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    let complete = models.iter().filter(|m| m.complete()).count();
    writeln!(
        w,
        "\nCheck: {complete} of {} model director{} complete; {} object{} owned by another account.",
        models.len(),
        if models.len() == 1 { "y" } else { "ies" },
        foreign.len(),
        crate::render::style::plural(foreign.len())
    )
}
