//! `s3ward check`'s report: text (a line per model directory, the objects owned by another
//! account, a summary line) and `--format json` (`format_version: 1`).
//!
//! Plain data in (the verdicts of [`crate::check`], what was learnt of each bucket), text
//! out to any writer. It does not read AWS, judge a listing or choose the exit code; the
//! clock is read by the caller ([`JsonContext::generated_at`]).

use std::io::{self, Write};

use serde::Serialize;

use super::json::PlanFileRef;
use super::style::plural;
use crate::check::{BucketScan, ForeignObject, ModelReport, ScanOutcome};

/// What `s3ward check` found.
#[derive(Clone, Copy)]
pub struct Findings<'a> {
    pub models: &'a [ModelReport],
    pub foreign: &'a [ForeignObject],
    /// Keys of the buckets whose plan file already sets `object_ownership =
    /// "BucketOwnerEnforced"`, which AWS does not enforce yet: the fix is pending an apply.
    pub ownership_pending: &'a [String],
    /// With `--all-objects`: how far each whole bucket was scanned.
    pub scans: Option<&'a [BucketScan]>,
}

impl Findings<'_> {
    /// How many model directories are complete.
    pub fn complete(&self) -> usize {
        self.models.iter().filter(|m| m.complete()).count()
    }

    /// Every model directory complete, no object owned by another account, and with
    /// `--all-objects` every bucket scanned whole: a scan cut at `--max-objects` did not
    /// look everywhere, so it cannot pass.
    pub fn ok(&self) -> bool {
        self.complete() == self.models.len() && self.foreign.is_empty() && self.cut() == 0
    }

    /// Buckets whose scan stopped at `--max-objects`.
    pub fn cut(&self) -> usize {
        self.scans
            .unwrap_or_default()
            .iter()
            .filter(|s| matches!(s.outcome, ScanOutcome::Cut { .. }))
            .count()
    }
}

/// What the JSON document says besides the findings.
pub struct JsonContext<'a> {
    pub plan_file: PlanFileRef<'a>,
    /// RFC 3339, UTC.
    pub generated_at: String,
    pub buckets: &'a [BucketNote],
}

/// The JSON document, pretty, with a final newline.
pub fn write_json(w: &mut dyn Write, f: Findings<'_>, ctx: JsonContext<'_>) -> io::Result<()> {
    let doc = JsonCheck {
        format_version: 1,
        s3ward_version: env!("CARGO_PKG_VERSION"),
        generated_at: ctx.generated_at,
        plan_file: ctx.plan_file,
        ok: f.ok(),
        summary: Summary {
            models: f.models.len(),
            complete: f.complete(),
            foreign_owned: f.foreign.len(),
        },
        buckets: ctx.buckets,
        models: f.models.iter().map(json_model).collect(),
        foreign_owned: f.foreign,
        all_objects: f.scans.map(|s| s.iter().map(json_scan).collect()),
    };
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(io::Error::from)?;
    writeln!(w)
}

#[derive(Serialize)]
struct JsonCheck<'a> {
    format_version: u32,
    s3ward_version: &'static str,
    generated_at: String,
    plan_file: PlanFileRef<'a>,
    ok: bool,
    summary: Summary,
    buckets: &'a [BucketNote],
    models: Vec<JsonModel<'a>>,
    foreign_owned: &'a [ForeignObject],
    /// With `--all-objects` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    all_objects: Option<Vec<JsonScan>>,
}

#[derive(Serialize)]
struct JsonScan {
    address: String,
    bucket: String,
    /// `whole`, `cut`, `ownership_enforced`, `owner_unknown`, `no_bucket`.
    outcome: &'static str,
    scanned: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    at_least: Option<usize>,
    foreign_owned: usize,
}

fn json_scan(s: &BucketScan) -> JsonScan {
    let (outcome, at_least) = match s.outcome {
        ScanOutcome::Whole => ("whole", None),
        ScanOutcome::Cut { at_least } => ("cut", Some(at_least)),
        ScanOutcome::OwnershipEnforced => ("ownership_enforced", None),
        ScanOutcome::OwnerUnknown => ("owner_unknown", None),
        ScanOutcome::NoBucket => ("no_bucket", None),
    };
    JsonScan {
        address: crate::change::Address::Bucket(s.bucket_key.clone()).to_string(),
        bucket: s.bucket.clone(),
        outcome,
        scanned: s.scanned,
        at_least,
        foreign_owned: s.foreign.len(),
    }
}

/// One line per bucket of `--all-objects`: how far it was scanned, never more than it was.
fn scan_line(s: &BucketScan) -> String {
    let place = format!(
        "{} s3://{}",
        crate::change::Address::Bucket(s.bucket_key.clone()),
        s.bucket
    );
    let found = format!("{} owned by another account", s.foreign.len());
    match s.outcome {
        ScanOutcome::Whole => format!(
            "{}{place}: all {} object{} scanned; {found}",
            if s.foreign.is_empty() {
                "ok    "
            } else {
                "FAIL  "
            },
            s.scanned,
            plural(s.scanned)
        ),
        ScanOutcome::Cut { at_least } => format!(
            "CUT   {place}: scanned {} of at least {at_least} objects; {found} among them; raise --max-objects",
            s.scanned
        ),
        ScanOutcome::OwnershipEnforced => format!(
            "skip  {place}: BucketOwnerEnforced: the bucket owns every object, whoever uploaded it"
        ),
        ScanOutcome::OwnerUnknown => {
            format!("skip  {place}: its ACL names no owner to compare object owners with")
        }
        ScanOutcome::NoBucket => format!("skip  {place}: the bucket does not exist"),
    }
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

/// What was learnt of a bucket that holds model directories.
#[derive(Clone, Debug, Serialize)]
pub struct BucketNote {
    pub address: String,
    pub bucket: String,
    /// The bucket owns every object (BucketOwnerEnforced): owners need no check.
    pub ownership_enforced: bool,
    /// Object owners were compared with the bucket owner.
    pub owners_checked: bool,
    /// The plan file sets `object_ownership = "BucketOwnerEnforced"` and AWS does not
    /// enforce it yet: `s3ward apply` makes the bucket own every object.
    pub ownership_pending: bool,
}

fn json_model(m: &ModelReport) -> JsonModel<'_> {
    JsonModel {
        address: crate::change::Address::Bucket(m.bucket_key.clone()).to_string(),
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

pub(super) fn human_bytes(n: i64) -> String {
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

/// The text report: `ok`/`FAIL` per model directory, the foreign-owned objects (at most 50,
/// with the fix), and the `Check: …` summary line.
pub fn write_text(w: &mut dyn Write, f: Findings<'_>) -> io::Result<()> {
    let Findings {
        models,
        foreign,
        ownership_pending,
        scans,
    } = f;
    for m in models {
        let place = format!(
            "{} s3://{}/{}",
            crate::change::Address::Bucket(m.bucket_key.clone()),
            m.bucket,
            m.prefix
        );
        if m.complete() {
            writeln!(
                w,
                "ok    {place}: complete ({} files, {} weight file{}, {})",
                m.files,
                m.weight_files,
                plural(m.weight_files),
                human_bytes(m.bytes)
            )?;
        } else {
            writeln!(
                w,
                "FAIL  {place}: {} problem{}",
                m.problems.len(),
                plural(m.problems.len())
            )?;
            for p in &m.problems {
                writeln!(w, "        - {p}")?;
            }
        }
    }
    if let Some(scans) = scans {
        writeln!(
            w,
            "{}Whole buckets (--all-objects):",
            if models.is_empty() { "" } else { "\n" }
        )?;
        for s in scans {
            writeln!(w, "{}", scan_line(s))?;
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
        keys.sort_unstable();
        keys.dedup();
        // Where the plan file already asks for the fix, advising to set it would be untrue.
        let (pending, unset): (Vec<&str>, Vec<&str>) = keys
            .into_iter()
            .partition(|k| ownership_pending.iter().any(|p| p == k));
        let tables = |keys: &[&str]| {
            keys.iter()
                .map(|k| format!("`[buckets.{k}]`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !unset.is_empty() {
            writeln!(
                w,
                "        fix: set `object_ownership = \"BucketOwnerEnforced\"` on {} and run `s3ward apply`: the bucket then owns every object, whoever uploaded it",
                tables(&unset)
            )?;
        }
        if !pending.is_empty() {
            writeln!(
                w,
                "        pending: run `s3ward apply`: the plan file already sets `object_ownership = \"BucketOwnerEnforced\"` on {}, which AWS does not enforce yet; once applied, the bucket owns every object, whoever uploaded it",
                tables(&pending)
            )?;
        }
    }
    let complete = f.complete();
    writeln!(
        w,
        "\nCheck: {complete} of {} model director{} complete; {} object{} owned by another account{}.",
        models.len(),
        if models.len() == 1 { "y" } else { "ies" },
        foreign.len(),
        plural(foreign.len()),
        scans.map(|s| scans_summary(s, f.cut())).unwrap_or_default()
    )
}

/// `, in 2 whole buckets` or, when some scan was cut, what it did not look at.
fn scans_summary(scans: &[BucketScan], cut: usize) -> String {
    let whole = scans
        .iter()
        .filter(|s| s.outcome == ScanOutcome::Whole)
        .count();
    let mut out = format!(
        " (--all-objects: {whole} bucket{} scanned whole",
        plural(whole)
    );
    if cut > 0 {
        out.push_str(&format!("; {cut} cut at --max-objects, not scanned whole"));
    }
    out.push(')');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Problem;

    fn model(key: &str, problems: Vec<Problem>) -> ModelReport {
        ModelReport {
            bucket_key: key.into(),
            bucket: format!("{key}-bucket"),
            prefix: "llama/".into(),
            files: 3,
            bytes: 1_500_000,
            weight_files: 1,
            problems,
        }
    }

    #[test]
    fn text_has_a_line_per_model_and_a_summary() {
        let models = [
            model("models", vec![]),
            model("scratch", vec![Problem::NoWeights]),
        ];
        let f = Findings {
            models: &models,
            foreign: &[],
            ownership_pending: &[],
            scans: None,
        };
        let mut out = Vec::new();
        write_text(&mut out, f).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "ok    bucket.models s3://models-bucket/llama/: complete (3 files, 1 weight file, 1.5 MB)\n\
             FAIL  bucket.scratch s3://scratch-bucket/llama/: 1 problem\n\
             \x20       - no weights: neither `model.safetensors.index.json` nor `model.safetensors` is there\n\
             \nCheck: 1 of 2 model directories complete; 0 objects owned by another account.\n"
        );
        assert!(!f.ok());
        assert_eq!(f.complete(), 1);
    }

    fn foreign(key: &str) -> ForeignObject {
        ForeignObject {
            bucket_key: key.into(),
            bucket: format!("{key}-bucket"),
            key: "llama/model.safetensors".into(),
            owner: "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be".into(),
        }
    }

    /// The fix the plan file already asks for is pending an apply, not advice to set it.
    #[test]
    fn foreign_owners_say_fix_or_pending_as_the_plan_file_stands() {
        let foreign = [foreign("models"), foreign("scratch")];
        let f = Findings {
            models: &[],
            foreign: &foreign,
            ownership_pending: &["models".to_string()],
            scans: None,
        };
        let mut out = Vec::new();
        write_text(&mut out, f).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }

    /// `--all-objects`: a line per bucket that says how far it was scanned; a cut scan says
    /// how many it looked at of how many at least, and cannot pass.
    #[test]
    fn whole_bucket_scans_say_how_far_they_went() {
        let scan = |key: &str, outcome, scanned, foreign: Vec<ForeignObject>| BucketScan {
            bucket_key: key.into(),
            bucket: format!("{key}-bucket"),
            outcome,
            scanned,
            foreign,
        };
        let scans = [
            scan("models", ScanOutcome::Whole, 1200, vec![foreign("models")]),
            scan("big", ScanOutcome::Cut { at_least: 1001 }, 1000, vec![]),
            scan("enforced", ScanOutcome::OwnershipEnforced, 0, vec![]),
        ];
        let foreign = [foreign("models")];
        let f = Findings {
            models: &[],
            foreign: &foreign,
            ownership_pending: &[],
            scans: Some(&scans),
        };
        let mut out = Vec::new();
        write_text(&mut out, f).unwrap();
        assert!(!f.ok());
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }
}
