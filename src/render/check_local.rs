//! `s3ward check --local`'s report: text (one verdict line, the problems, the cause and fix
//! of a `Permission denied`, a summary line) and `--format json` (`format_version: 1`).
//!
//! Plain data in ([`LocalReport`]), text out; it reads no file and chooses no exit code.

use std::io::{self, Write};

use serde::Serialize;

use super::check::human_bytes;
use super::style::plural;
use crate::check::local::LocalReport;

/// The text report.
pub fn write_text(w: &mut dyn Write, r: &LocalReport) -> io::Result<()> {
    if r.ok() {
        writeln!(
            w,
            "ok    {}: complete ({} file{}, {} weight file{}, {} whole safetensors file{}, {})",
            r.dir,
            r.files,
            plural(r.files),
            r.weight_files,
            plural(r.weight_files),
            r.whole_files,
            plural(r.whole_files),
            human_bytes(r.bytes as i64)
        )?;
    } else {
        writeln!(
            w,
            "FAIL  {}: {} problem{}",
            r.dir,
            r.problems.len(),
            plural(r.problems.len())
        )?;
        for p in &r.problems {
            writeln!(w, "        - {p}")?;
        }
    }
    if r.permission_denied() {
        let who = match (r.uid, r.gid) {
            (Some(u), Some(g)) => format!("uid {u}, gid {g}"),
            _ => "its user".to_string(),
        };
        writeln!(
            w,
            "        cause: this process ({who}) may not read those files. A Mountpoint for Amazon S3 volume shows every file as owned by the mount's uid and gid (root unless set), readable by others only with `allow-other`: a pod that runs as non-root gets `Permission denied`"
        )?;
        writeln!(
            w,
            "        fix: set `uid` and `gid` (the pod's `runAsUser` and `runAsGroup`) on the workload's volume (`[[workloads.KEY.volumes]]`) and apply the PersistentVolume `s3ward k8s PLAN` prints: it mounts with `allow-other`, `uid` and `gid`"
        )?;
    }
    writeln!(
        w,
        "\nCheck: {}.",
        if r.ok() {
            format!("`{}` is complete, readable and whole", r.dir)
        } else {
            format!(
                "{} problem{} in `{}`",
                r.problems.len(),
                plural(r.problems.len()),
                r.dir
            )
        }
    )
}

/// The JSON document, pretty, with a final newline.
pub fn write_json(w: &mut dyn Write, r: &LocalReport) -> io::Result<()> {
    #[derive(Serialize)]
    struct Doc<'a> {
        format_version: u32,
        s3ward_version: &'static str,
        ok: bool,
        dir: &'a str,
        files: usize,
        bytes: u64,
        weight_files: usize,
        whole_files: usize,
        /// Each problem's fields, plus `message`: the sentence the text output prints.
        problems: Vec<serde_json::Value>,
        uid: Option<u32>,
        gid: Option<u32>,
    }
    let doc = Doc {
        format_version: 1,
        s3ward_version: env!("CARGO_PKG_VERSION"),
        ok: r.ok(),
        dir: &r.dir,
        files: r.files,
        bytes: r.bytes,
        weight_files: r.weight_files,
        whole_files: r.whole_files,
        problems: r
            .problems
            .iter()
            .map(|p| {
                let mut v = serde_json::to_value(p).expect("a problem serialises");
                v["message"] = serde_json::Value::String(p.to_string());
                v
            })
            .collect(),
        uid: r.uid,
        gid: r.gid,
    };
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(io::Error::from)?;
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Problem;

    fn report(problems: Vec<Problem>) -> LocalReport {
        LocalReport {
            dir: "/data/Mistral-7B-v0.1".into(),
            files: 6,
            bytes: 14_500_000_000,
            weight_files: 2,
            whole_files: 2,
            problems,
            uid: Some(1000),
            gid: Some(1000),
        }
    }

    fn text(r: &LocalReport) -> String {
        let mut out = Vec::new();
        write_text(&mut out, r).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_reports() {
        insta::assert_snapshot!("local_ok", text(&report(vec![])));
        insta::assert_snapshot!(
            "local_problems",
            text(&report(vec![
                Problem::MissingShard {
                    file: "model-00002-of-00002.safetensors".into()
                },
                Problem::Unreadable {
                    file: "config.json".into(),
                    reason: "Permission denied".into()
                },
                Problem::WrongSize {
                    file: "model-00001-of-00002.safetensors".into(),
                    size: 100,
                    expected: 4_943_162_336
                },
            ]))
        );
    }
}
