//! `s3ward permissions PLAN [--for plan|apply|drift|check [--all-objects]]`: load the plan file, build the
//! policies (`crate::permissions`), print them (`render::permissions`). Offline: no AWS
//! call, no runtime. Exit 0, or 1 when the plan file is invalid.

use std::io::Write;

use super::plan::load;
use crate::error::{Error, Exit};
use crate::settings::{PermissionsSettings, Settings};

pub fn run(global: &Settings, args: &PermissionsSettings) -> Result<Exit, Error> {
    if args.all_objects && !args.purpose.is_check() {
        return Err(Error::Usage(format!(
            "`--all-objects` is for `--for check` (the calls of `check --all-objects`), not `--for {}`",
            args.purpose.as_str()
        )));
    }
    // Nothing is written here: a Deny that would lock s3ward out is for plan and apply to refuse.
    let desired = load(&args.plan, true, global.color_err)?;
    let policies = crate::permissions::policies(&desired, args.purpose);
    let text = crate::render::permissions::render(&policies);
    let mut out = super::stdout();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Error::stdout)?;
    Ok(Exit::Success)
}
