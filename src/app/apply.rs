//! `s3ward apply`: plan, show, confirm, execute, report. `apply --saved FILE`: check the
//! saved plan is fresh, then execute exactly its changes.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::plan::{Planned, aws_options, load, log_stats, parse_targets, plan};
use crate::apply::executor::{self, Event};
use crate::apply::lock::Lock;
use crate::apply::{Report, graph, safety};
use crate::aws::Aws;
use crate::change::ChangeSet;
use crate::cli::{ApplyArgs, Global};
use crate::desired::Desired;
use crate::error::{Error, Exit};
use crate::live::{self, Session};
use crate::plan_file;
use crate::policy::lint::Identity;
use crate::render;
use crate::saved::{SavedPlan, stale_reasons};

pub async fn run(global: &Global, args: &ApplyArgs) -> Result<Exit, Error> {
    match (&args.saved, &args.plan) {
        (Some(saved), _) => apply_saved(global, saved, args.force_unlock).await,
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

fn print_plan(global: &Global, cs: &ChangeSet) -> Result<(), Error> {
    let color = super::use_color(global.color, &std::io::stdout());
    let mut out = std::io::stdout().lock();
    render::text::write_plan(&mut out, cs, &render::text::Options { color })
        .and_then(|()| out.flush())
        .map_err(Error::stdout)
}

async fn apply_plan(global: &Global, args: &ApplyArgs, plan_path: &Path) -> Result<Exit, Error> {
    let color_err = super::use_color(global.color, &std::io::stderr());
    let desired = load(plan_path, args.selection.allow_self_lockout, color_err)?;
    let Planned {
        desired,
        session,
        change_set,
        ..
    } = plan(global, desired, &args.selection).await?;
    print_plan(global, &change_set)?;
    if change_set.is_empty() && change_set.problems.is_empty() {
        // Nothing to change; maybe records to bring up to date (bookkeeping, no prompt),
        // and, when asked, a stale lock to remove.
        if !change_set.applied.is_empty() || args.force_unlock {
            let report = locked_execute(&session, &desired, &change_set, args.force_unlock).await?;
            if !change_set.applied.is_empty() {
                note_records(&change_set, &report);
            }
        }
        log_stats(&session.aws);
        return Ok(Exit::Success);
    }
    refuse_unsafe(
        &desired,
        &change_set,
        &session,
        args.selection.allow_self_lockout,
    )?;
    if !args.auto_approve {
        confirm()?;
    }
    let report = locked_execute(&session, &desired, &change_set, args.force_unlock).await?;
    log_stats(&session.aws);
    finish(report)
}

async fn apply_saved(global: &Global, path: &Path, force_unlock: bool) -> Result<Exit, Error> {
    let saved = SavedPlan::read(path)?;
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
    let targets = parse_targets(&desired, &saved.targets)?;
    let aws = Aws::connect(&aws_options(global)).await;
    let resources = live::selected_resources(&desired, &targets);
    let accounts = live::accounts_of(&desired, &resources);
    let session = Session::connect(aws, &desired, Some(&accounts)).await?;
    let now = live::read(&session, &desired, &resources, None).await?;
    let reasons = stale_reasons(&saved, on_disk.as_deref(), &now.fingerprints());
    if !reasons.is_empty() {
        log_stats(&session.aws);
        return Err(Error::StalePlan { reasons });
    }
    let cs = &saved.change_set;
    print_plan(global, cs)?;
    if cs.is_empty() {
        if !cs.applied.is_empty() || force_unlock {
            let report = locked_execute(&session, &desired, cs, force_unlock).await?;
            if !cs.applied.is_empty() {
                note_records(cs, &report);
            }
        }
        return Ok(Exit::Success);
    }
    refuse_unsafe(&desired, cs, &session, saved.allow_self_lockout)?;
    let report = locked_execute(&session, &desired, cs, force_unlock).await?;
    log_stats(&session.aws);
    finish(report)
}

/// Says what became of the `s3ward:applied` records written with nothing else to change.
fn note_records(cs: &ChangeSet, report: &Report) {
    if report.ok() {
        eprintln!(
            "Recorded the applied state of {} resource{} (the `s3ward:applied` tag), so that `s3ward drift` can tell drift from pending changes.",
            cs.applied.len(),
            render::plural(cs.applied.len())
        );
    } else {
        eprintln!(
            "warning: could not record the applied state (the `s3ward:applied` tag) of every resource; `s3ward drift` reports their differences as pending"
        );
    }
}

/// Executes under the plan file's apply lock, when it has one.
async fn locked_execute(
    session: &Session,
    desired: &Desired,
    cs: &ChangeSet,
    force_unlock: bool,
) -> Result<Report, Error> {
    let Some(at) = &desired.lock else {
        return Ok(execute(session, desired, cs).await);
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
    let report = execute(session, desired, cs).await;
    if let Err(e) = lock.release().await {
        // The apply happened; say so first, then what is left behind.
        eprintln!(
            "warning: could not release the apply lock `s3://{}/{}`: {e}; the next apply needs `--force-unlock`",
            at.bucket, at.key
        );
    }
    Ok(report)
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
        let label = match &e {
            Event::Started(a) | Event::Done(a, _) | Event::Failed(a) => *a,
        };
        if !label.ends_with("(s3ward:applied tag)") || matches!(e, Event::Failed(_)) {
            on_event(e);
        }
    };
    executor::execute(session, desired, cs, &g, &on_event).await
}

fn finish(report: Report) -> Result<Exit, Error> {
    let mut out = std::io::stdout().lock();
    let _ = write_report(&mut out, &report);
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

pub fn write_report(w: &mut dyn Write, r: &Report) -> std::io::Result<()> {
    writeln!(w)?;
    if r.ok() {
        return writeln!(
            w,
            "Apply complete: {} change{} applied.",
            r.applied.len(),
            render::plural(r.applied.len())
        );
    }
    writeln!(
        w,
        "Apply incomplete: {} applied, {} failed, {} not attempted.",
        r.applied.len(),
        r.failed.len(),
        r.not_attempted.len()
    )?;
    if !r.applied.is_empty() {
        writeln!(w, "\nApplied:")?;
        for a in &r.applied {
            writeln!(w, "  {a}")?;
        }
    }
    writeln!(w, "\nFailed:")?;
    for f in &r.failed {
        writeln!(
            w,
            "  {}: {} failed: {}{}",
            f.address,
            f.operation,
            f.code
                .as_deref()
                .map(|c| format!("{c}: "))
                .unwrap_or_default(),
            f.message
        )?;
    }
    if !r.not_attempted.is_empty() {
        writeln!(w, "\nNot attempted:")?;
        for s in &r.not_attempted {
            writeln!(w, "  {} (waited for {})", s.address, s.waited_for)?;
        }
    }
    Ok(())
}
