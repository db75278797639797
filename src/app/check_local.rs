//! `s3ward check --local DIR`: the model directory a pod mounted is complete, readable and
//! whole. Exit 0 when it is, 2 when not, 1 on error. No AWS call.
//!
//! Orchestration only: decide `require` (the flags, or the plan file's model directory),
//! run [`crate::check::local::check`], hand the report to `render::check_local`.

use std::io::Write;

use crate::check::local;
use crate::error::{Error, Exit};
use crate::render;
use crate::settings::{CheckLocalSettings, ReportFormat, Settings};

pub fn run(global: &Settings, args: &CheckLocalSettings) -> Result<Exit, Error> {
    let mut require = args.require.clone();
    if let Some((plan, model)) = &args.model {
        let desired = super::plan::load(plan, false, global.color_err)?;
        let unknown = || Error::UnknownModel {
            plan: plan.clone(),
            model: model.clone(),
        };
        let (key, prefix) = model.split_once(':').ok_or_else(unknown)?;
        let prefix = if prefix.ends_with('/') {
            prefix.to_string()
        } else {
            format!("{prefix}/")
        };
        let dir = desired
            .buckets
            .get(key)
            .and_then(|b| b.models.iter().find(|m| m.prefix == prefix))
            .ok_or_else(unknown)?;
        require.extend(dir.require.iter().cloned());
    }
    if require.is_empty() && args.model.is_none() {
        // As in the plan file, where `require` defaults to `["config.json"]`.
        require.push("config.json".into());
    }
    require.sort();
    require.dedup();
    let report = local::check(&args.dir, &require).map_err(|source| Error::ReadDir {
        path: args.dir.clone(),
        source,
    })?;
    let mut out = super::stdout();
    match args.format {
        ReportFormat::Text => render::check_local::write_text(&mut out, &report),
        ReportFormat::Json => render::check_local::write_json(&mut out, &report),
    }
    .and_then(|()| out.flush())
    .map_err(Error::stdout)?;
    Ok(if report.ok() {
        Exit::Success
    } else {
        Exit::Differs
    })
}
