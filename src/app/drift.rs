//! `s3ward drift`: a read-only plan for cron. Every difference is classified as `drift`
//! (AWS changed since s3ward's last apply) or `pending` (the plan file asks for something
//! never applied); exit 0 in sync, 2 differs, 1 error.

use std::io::Write;

use super::plan::load_and_plan;
use crate::error::{Error, Exit};
use crate::plan_file::diagnostic::display_path;
use crate::render;
use crate::settings::{DriftSettings, ReportFormat, Settings};

pub async fn run(global: &Settings, args: &DriftSettings) -> Result<Exit, Error> {
    let color_out = global.color_out;
    let planned = load_and_plan(global, &args.plan, &args.selection).await?;
    let cs = &planned.change_set;
    let mut out = super::stdout();
    let written = match args.format {
        ReportFormat::Text => {
            render::text::write_drift(&mut out, cs, &render::text::Options { color: color_out })
        }
        ReportFormat::Json => render::json::write_drift(
            &mut out,
            cs,
            render::json::DriftContext {
                plan_file: render::json::PlanFileRef {
                    path: display_path(&planned.desired.source.path),
                    name: &planned.desired.name,
                    sha256: &planned.desired.source.sha256,
                },
                accounts: planned
                    .session
                    .accounts
                    .values()
                    .map(|a| (a.key.clone(), a.id.clone()))
                    .collect(),
                generated_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                    .to_string(),
            },
        ),
    };
    written.and_then(|()| out.flush()).map_err(Error::stdout)?;
    if !cs.problems.is_empty() {
        return Err(Error::PlanProblems {
            count: cs.problems.len(),
        });
    }
    Ok(if cs.is_empty() && cs.expectations.is_empty() {
        Exit::Success
    } else {
        Exit::Differs
    })
}
