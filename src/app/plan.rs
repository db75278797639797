//! `s3ward plan`, and the planning steps that `apply` and `drift` share: load the plan
//! file, connect, read the live state, diff.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use crate::aws::Aws;
use crate::change::{Address, ChangeSet, Resource};
use crate::desired::Desired;
use crate::diff::{self, Context};
use crate::error::{Error, Exit};
use crate::live::{self, Session};
use crate::plan_file::{self, diagnostic::display_path};
use crate::render;
use crate::saved::{SavedPlan, SavedPlanFile};
use crate::settings::{Format, PlanSettings, Selection, Settings};
use crate::state::Live;

/// Everything a planning run produced.
pub struct Planned {
    pub desired: Desired,
    pub session: Session,
    pub live: Live,
    pub change_set: ChangeSet,
    pub targets: Vec<Address>,
}

/// Loads a plan file, printing its warnings to stderr.
pub fn load(
    path: &std::path::Path,
    allow_self_lockout: bool,
    color: bool,
) -> Result<Desired, Error> {
    let loaded = plan_file::load(path, plan_file::Options { allow_self_lockout })?;
    eprint!("{}", loaded.warnings.render(color));
    Ok(loaded.desired)
}

/// Parses `--target` values and checks that each names something in the plan file.
pub fn parse_targets(desired: &Desired, raw: &[String]) -> Result<Vec<Address>, Error> {
    raw.iter()
        .map(|t| {
            let a: Address = t
                .parse()
                .map_err(|e: crate::change::AddressError| Error::Usage(e.to_string()))?;
            let (kind, key, keys): (&str, String, Vec<&str>) = match a.resource() {
                crate::change::Resource::Bucket(k) => (
                    "bucket",
                    k,
                    desired.buckets.keys().map(String::as_str).collect(),
                ),
                crate::change::Resource::Role(k) => (
                    "role",
                    k,
                    desired.roles.keys().map(String::as_str).collect(),
                ),
                crate::change::Resource::Key(k) => {
                    ("key", k, desired.keys.keys().map(String::as_str).collect())
                }
            };
            if keys.contains(&key.as_str()) {
                return Ok(a);
            }
            let hint = match crate::plan_file::resolve::suggest(&key, keys.iter().copied()) {
                Some(s) => format!(": did you mean `{kind}.{s}`?"),
                None if keys.is_empty() => format!(" (it declares no {kind})"),
                None => format!(
                    " (its {kind}s: {})",
                    keys.iter()
                        .map(|k| format!("`{kind}.{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            Err(Error::Usage(format!(
                "target `{t}` names no {kind} in the plan file{hint}"
            )))
        })
        .collect()
}

/// A session for what the `--target`s select, before anything of theirs is read: the
/// point where `apply` takes its lock (SPEC: before it reads).
pub struct Connected {
    pub desired: Desired,
    pub session: Session,
    pub targets: Vec<Address>,
    resources: Vec<Resource>,
}

/// Resolves the accounts (STS only); reads nothing of the managed resources.
pub async fn connect(
    global: &Settings,
    desired: Desired,
    targets: &[String],
) -> Result<Connected, Error> {
    let targets = parse_targets(&desired, targets)?;
    let aws = Aws::connect(&global.aws).await;
    let resources = live::selected_resources(&desired, &targets);
    let accounts = live::accounts_of(&desired, &resources);
    let session = Session::connect(aws, &desired, Some(&accounts)).await?;
    Ok(Connected {
        desired,
        session,
        targets,
        resources,
    })
}

impl Connected {
    /// Reads the live state of the selected resources.
    pub async fn read(&self) -> Result<Live, Error> {
        read_with_progress(&self.session, &self.desired, &self.resources).await
    }

    /// The change set from the plan file to `live` (pure), narrowed to the targets.
    pub fn diff(&self, live: &Live, allow_self_lockout: bool) -> ChangeSet {
        let ctx = Context {
            regions: self
                .desired
                .buckets
                .values()
                .map(|b| (b.key.clone(), self.session.bucket_region(b)))
                .collect(),
            identities: self
                .session
                .accounts
                .iter()
                .map(|(k, a)| (k.clone(), a.identity()))
                .collect(),
            allow_self_lockout,
        };
        let mut change_set = diff::diff(&self.desired, live, &ctx);
        change_set.retain_targets(&self.targets);
        change_set
    }

    pub fn planned(self, live: Live, change_set: ChangeSet) -> Planned {
        Planned {
            desired: self.desired,
            session: self.session,
            live,
            change_set,
            targets: self.targets,
        }
    }
}

/// Connects and reads what `targets` select, then diffs.
pub async fn plan(
    global: &Settings,
    desired: Desired,
    selection: &Selection,
) -> Result<Planned, Error> {
    let connected = connect(global, desired, &selection.targets).await?;
    let targets = &connected.targets;
    let selected = |a: &Address| targets.is_empty() || targets.iter().any(|t| t.selects(a));
    // The documents expectations need are named by the plan file: read beside the rest.
    let (live, documents) = futures::join!(
        connected.read(),
        super::why::expectation_documents(&connected.session, &connected.desired, selected)
    );
    let (live, documents) = (live?, documents?);
    let mut change_set = connected.diff(&live, selection.allow_self_lockout);
    // Expectations against live (issue #17): shown with the changes, blocking nothing.
    change_set.expectations = crate::access::live::problems(&connected.desired, &live, &documents);
    change_set.expectations.retain(|p| selected(&p.address));
    Ok(connected.planned(live, change_set))
}

/// Reads the live state, with a counter on stderr when it is a terminal and reading takes
/// more than a second.
async fn read_with_progress(
    session: &Session,
    desired: &Desired,
    resources: &[Resource],
) -> Result<Live, Error> {
    let done = Arc::new(AtomicUsize::new(0));
    let ticker = super::progress::Ticker::start(
        "{spinner} reading AWS: {pos}/{len} resources {elapsed}",
        Some(resources.len() as u64),
        done.clone(),
    );
    let r = live::read(session, desired, resources, Some(done)).await;
    ticker.stop().await;
    r
}

/// Logs the calls made, per service (`-v`).
pub fn log_stats(aws: &Aws) {
    let s = aws.stats();
    let per: Vec<String> = s.calls.iter().map(|(k, v)| format!("{k} {v}")).collect();
    tracing::debug!(
        target: "s3ward::aws",
        "AWS calls: {} ({} retries)",
        if per.is_empty() { "none".into() } else { per.join(", ") },
        s.retries
    );
}

/// Loads the plan file (warnings to stderr), connects, reads and diffs: the whole read-only
/// path that `plan` and `drift` share.
pub async fn load_and_plan(
    global: &Settings,
    plan_file: &std::path::Path,
    selection: &Selection,
) -> Result<Planned, Error> {
    let desired = load(plan_file, selection.allow_self_lockout, global.color_err)?;
    let planned = plan(global, desired, selection).await?;
    log_stats(&planned.session.aws);
    Ok(planned)
}

pub async fn run(global: &Settings, args: &PlanSettings) -> Result<Exit, Error> {
    let color_out = global.color_out;
    let planned = load_and_plan(global, &args.plan, &args.selection).await?;
    let cs = &planned.change_set;
    let mut out = super::stdout();
    match args.format {
        Format::Text => {
            render::text::write_plan(&mut out, cs, &render::text::Options { color: color_out })
                .map_err(Error::stdout)?
        }
        Format::Markdown => {
            let opts = render::markdown::Options {
                title: format!("s3ward plan: `{}`", planned.desired.name),
                ..Default::default()
            };
            render::markdown::write_plan(&mut out, cs, &opts).map_err(Error::stdout)?;
        }
        Format::Json => render::json::write_plan(
            &mut out,
            cs,
            render::json::PlanFileRef {
                path: display_path(&planned.desired.source.path),
                name: &planned.desired.name,
                sha256: &planned.desired.source.sha256,
            },
        )
        .map_err(Error::stdout)?,
    }
    out.flush().map_err(Error::stdout)?;
    if let Some(path) = &args.out {
        let saved = SavedPlan {
            format: crate::saved::FORMAT.into(),
            format_version: crate::saved::FORMAT_VERSION,
            s3ward_version: env!("CARGO_PKG_VERSION").into(),
            created_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            plan_file: SavedPlanFile {
                path: args.plan.clone(),
                sha256: planned.desired.source.sha256.clone(),
                text: planned.desired.source.text.clone(),
            },
            targets: args.selection.targets.clone(),
            allow_self_lockout: args.selection.allow_self_lockout,
            fingerprints: planned.live.fingerprints(),
            live_tags: crate::saved::live_tags(&planned.live),
            change_set: cs.clone(),
        };
        saved.write(path)?;
        eprintln!(
            "Saved the plan to `{}`; apply exactly it with `s3ward apply --saved {}`.",
            display_path(path),
            display_path(path)
        );
    }
    if !cs.problems.is_empty() {
        return Err(Error::PlanProblems {
            count: cs.problems.len(),
        });
    }
    Ok(if args.detailed_exitcode && !cs.is_empty() {
        Exit::Differs
    } else {
        Exit::Success
    })
}
