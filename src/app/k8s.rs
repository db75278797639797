//! `s3ward k8s PLAN [--workload KEY]...`: the Kubernetes YAML of the plan's workloads on
//! stdout. No AWS call. Orchestration only: load (which validates the workloads against
//! trust and grants), build ([`crate::k8s`]), write ([`crate::render::k8s`]).

use std::io::Write;

use crate::error::{Error, Exit};
use crate::settings::{K8sSettings, Settings};

pub fn run(global: &Settings, args: &K8sSettings) -> Result<Exit, Error> {
    let desired = super::plan::load(&args.plan, false, global.color_err)?;
    let docs = crate::k8s::documents(&desired, &args.workloads).map_err(|keys| {
        Error::UnknownWorkload {
            plan: args.plan.clone(),
            keys,
            known: desired.workloads.keys().cloned().collect(),
        }
    })?;
    if docs.is_empty() {
        eprintln!("warning: the plan file declares no `[workloads.KEY]`; nothing to print");
    }
    let mut out = super::stdout();
    crate::render::k8s::write_yaml(&mut out, &desired.name, &docs)
        .and_then(|()| out.flush())
        .map_err(Error::stdout)?;
    Ok(Exit::Success)
}
