//! `s3ward apply`: lock, plan, show, confirm, execute, release, report. `apply --saved FILE`:
//! check the saved plan is fresh and is what its plan file gives, then execute exactly its
//! changes, under the lock likewise.
//!
//! Orchestration: the plan, the apply report and the records note are rendered by `render`
//! (`text`, `apply_report`); the writes are made by `apply`. Only one-line messages are
//! written here (the prompt, progress per change, a lock left behind).

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::plan::{Connected, connect, load, log_stats};
use crate::apply::executor::{self, Event};
use crate::apply::lock::Lock;
use crate::apply::{Report, Step, graph, safety};
use crate::change::ChangeSet;
use crate::desired::Desired;
use crate::error::{Error, Exit};
use crate::live::Session;
use crate::plan_file;
use crate::policy::lint::Identity;
use crate::render;
use crate::saved::{SavedPlan, Stale, change_set_differences, stale_reasons};
use crate::settings::{ApplySettings, Settings};

pub async fn run(global: &Settings, args: &ApplySettings) -> Result<Exit, Error> {
    match (&args.saved, &args.plan) {
        (Some(saved), _) => {
            apply_saved(global, saved, args.plan_file.as_deref(), args.force_unlock).await
        }
        (None, Some(plan_path)) => apply_plan(global, args, plan_path).await,
        (None, None) => Err(Error::Usage("give a plan file, or --saved FILE".into())),
    }
}

fn identities(session: &Session) -> BTreeMap<String, Identity> {
    session
        .accounts
        .iter()
        .map(|(k, a)| (k.clone(), a.identity()))
        .collect()
}

fn print_plan(global: &Settings, cs: &ChangeSet) -> Result<(), Error> {
    let color = global.color_out;
    let mut out = super::stdout();
    render::text::write_plan(&mut out, cs, &render::text::Options { color })
        .and_then(|()| out.flush())
        .map_err(Error::stdout)
}

/// `apply PLAN`: connect, lock, read, diff, show, confirm, execute, release.
async fn apply_plan(
    global: &Settings,
    args: &ApplySettings,
    plan_path: &Path,
) -> Result<Exit, Error> {
    let color_err = global.color_err;
    let desired = load(plan_path, args.selection.allow_self_lockout, color_err)?;
    let connected = connect(global, desired, &args.selection.targets).await?;
    let done = under_lock(&connected, args.force_unlock, async {
        let live = connected.read().await?;
        let change_set = connected.diff(&live, args.selection.allow_self_lockout);
        print_plan(global, &change_set)?;
        if change_set.is_empty() && change_set.problems.is_empty() {
            // Nothing to change; maybe records to bring up to date (bookkeeping, no prompt).
            return Ok(records_only(&connected, &change_set).await);
        }
        refuse_unsafe(
            &connected.desired,
            &change_set,
            &connected.session,
            args.selection.allow_self_lockout,
        )?;
        if !args.auto_approve {
            confirm()?;
        }
        Ok(Some(
            execute(&connected.session, &connected.desired, &change_set).await,
        ))
    })
    .await;
    log_stats(&connected.session.aws);
    done.and_then(finish)
}

/// `apply --saved FILE`: check the saved plan's own text, connect, lock, re-read, refuse
/// when stale, refuse unless `--plan-file` holds its text and the change set derived again
/// is the saved one, show, execute, release. Why the refusals come in this order: see
/// [`crate::saved`].
async fn apply_saved(
    global: &Settings,
    path: &Path,
    plan_file_arg: Option<&Path>,
    force_unlock: bool,
) -> Result<Exit, Error> {
    let saved = SavedPlan::read(path)?;
    if let Some(reason) = saved.text_mismatch(path) {
        return Err(Error::SavedMismatch {
            reasons: vec![reason],
        });
    }
    let given = match plan_file_arg {
        None => None,
        Some(p) => Some((p, read_plan_file(p)?)),
    };
    // The plan file must be the one the plan was made from.
    let on_disk = std::fs::read(&saved.plan_file.path)
        .ok()
        .map(|b| hex::encode(Sha256::digest(&b)));
    let desired = plan_file::parse(
        &saved.plan_file.path,
        &saved.plan_file.text,
        plan_file::Options {
            allow_self_lockout: saved.allow_self_lockout,
        },
    )?
    .desired;
    let connected = connect(global, desired, &saved.targets).await?;
    let done = under_lock(&connected, force_unlock, async {
        let live = connected.read().await?;
        match stale_reasons(&saved, on_disk.as_deref(), &live) {
            None => {}
            Some(Stale::Applied(resources)) => return Err(Error::SavedApplied { resources }),
            Some(Stale::Changed(reasons)) => return Err(Error::StalePlan { reasons }),
        }
        if let Some(reason) = given
            .as_ref()
            .and_then(|(p, text)| saved.plan_file_mismatch(path, p, text))
        {
            return Err(Error::SavedMismatch {
                reasons: vec![reason],
            });
        }
        let derived = connected.diff(&live, saved.allow_self_lockout);
        let mut reasons = change_set_differences(&saved.change_set, &derived);
        if !reasons.is_empty() {
            if saved.s3ward_version != env!("CARGO_PKG_VERSION") {
                reasons.push(format!(
                    "it was made by s3ward {}, and this is s3ward {}",
                    saved.s3ward_version,
                    env!("CARGO_PKG_VERSION")
                ));
            }
            return Err(Error::SavedMismatch { reasons });
        }
        let cs = &saved.change_set;
        print_plan(global, cs)?;
        if cs.is_empty() {
            return Ok(records_only(&connected, cs).await);
        }
        refuse_unsafe(
            &connected.desired,
            cs,
            &connected.session,
            saved.allow_self_lockout,
        )?;
        Ok(Some(
            execute(&connected.session, &connected.desired, cs).await,
        ))
    })
    .await;
    log_stats(&connected.session.aws);
    done.and_then(finish)
}

/// `--plan-file PATH`'s text.
fn read_plan_file(path: &Path) -> Result<String, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::ReadPlan {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|_| Error::PlanNotUtf8 {
        path: path.to_path_buf(),
    })
}

/// With nothing to change: writes the `s3ward:applied` records that are missing or out of
/// date (bookkeeping, no prompt), and says what became of them. No report follows.
async fn records_only(connected: &Connected, cs: &ChangeSet) -> Option<Report> {
    if !cs.applied.is_empty() {
        let report = execute(&connected.session, &connected.desired, cs).await;
        note_records(cs, &report);
    }
    None
}

/// Says what became of the `s3ward:applied` records written with nothing else to change.
fn note_records(cs: &ChangeSet, report: &Report) {
    let _ = render::apply_report::write_records_note(
        &mut std::io::stderr(),
        cs.applied.len(),
        report.ok(),
    );
}

/// Runs `work` (read, plan, apply) under the plan file's apply lock, when it has one: taken
/// before anything of the managed resources is read, so that what is applied was planned
/// from a state no other apply of this plan file was changing (SPEC, apply order 9), and
/// released whatever `work` ends with: done, failed, refused, cancelled.
async fn under_lock<T>(
    connected: &Connected,
    force_unlock: bool,
    work: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    let (session, desired) = (&connected.session, &connected.desired);
    let Some(at) = &desired.lock else {
        return work.await;
    };
    let region = desired
        .region
        .clone()
        .unwrap_or_else(|| session.aws.default_region());
    let lock = Lock::acquire(
        &session.aws,
        &region,
        at,
        &session.ambient_arn,
        &desired.name,
        force_unlock,
    )
    .await?;
    let done = work.await;
    if let Err(e) = lock.release().await {
        // The work happened (or failed on its own); say so first, then what is left behind.
        eprintln!(
            "warning: could not release the apply lock `s3://{}/{}`: {e}; the next apply needs `--force-unlock`",
            at.bucket, at.key
        );
    }
    done
}

fn refuse_unsafe(
    desired: &Desired,
    cs: &ChangeSet,
    session: &Session,
    allow_self_lockout: bool,
) -> Result<(), Error> {
    let refusals = safety::check(desired, cs, &identities(session), allow_self_lockout);
    if refusals.is_empty() {
        return Ok(());
    }
    Err(Error::Refused {
        what: format!(
            "refusing to apply; nothing was changed:\n{}",
            refusals
                .iter()
                .map(|r| format!("  - {r}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
        hint: None,
    })
}

/// Asks for `yes` on the terminal. Refuses when stdin is not a terminal: an unattended
/// apply must say so with `--auto-approve` (or apply a reviewed saved plan).
fn confirm() -> Result<(), Error> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Error::Refused {
            what: "refusing to apply without confirmation: stdin is not a terminal, and `--auto-approve` was not given; nothing was changed".into(),
            hint: Some("review the plan, then run `s3ward apply --auto-approve`, or apply a reviewed saved plan with `s3ward apply --saved FILE`".into()),
        });
    }
    eprint!(
        "\nDo you want to apply these changes?\n  Only `yes` will be accepted to approve.\n\n  Enter a value: "
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::Refused {
            what: format!("could not read the answer: {e}"),
            hint: None,
        })?;
    if answer.trim() == "yes" {
        eprintln!();
        Ok(())
    } else {
        Err(Error::Refused {
            what: "apply cancelled; nothing was changed".into(),
            hint: None,
        })
    }
}

async fn execute(session: &Session, desired: &Desired, cs: &ChangeSet) -> Report {
    let g = graph::build(cs);
    let on_event = |e: Event<'_>| match e {
        Event::Started(a) => eprintln!("{a}: applying..."),
        Event::Done(a, took) => eprintln!("{a}: done after {:.1}s", took.as_secs_f64()),
        Event::Failed(a) => eprintln!("{a}: failed"),
    };
    // Bookkeeping (the `s3ward:applied` tags) is not worth a line each.
    let on_event = |e: Event<'_>| {
        if !matches!(e.step(), Step::Record(_)) || matches!(e, Event::Failed(_)) {
            on_event(e);
        }
    };
    executor::execute(session, desired, cs, &g, &on_event).await
}

/// Prints the report of an apply, if there was one, and ends with its exit.
fn finish(report: Option<Report>) -> Result<Exit, Error> {
    let Some(report) = report else {
        return Ok(Exit::Success);
    };
    let mut out = super::stdout();
    let _ = render::apply_report::write_report(&mut out, &report);
    let _ = out.flush();
    if report.ok() {
        Ok(Exit::Success)
    } else {
        Err(Error::ApplyFailed {
            failed: report.failed.len(),
            not_attempted: report.not_attempted.len(),
        })
    }
}
