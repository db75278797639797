//! `s3ward import`: read live buckets and roles of one or more accounts and write a plan
//! file that describes them (see `import` and docs/import.md). Only reads: GetCallerIdentity
//! (and AssumeRole for each account given a role), then Get*/List* calls through `live`, all
//! accounts at once.
//!
//! Exit 0 when the plan file was written (notes about what it cannot reproduce are warnings
//! on stderr), 1 on an error: a bucket or role that does not exist, an AWS failure, or a plan
//! file that does not validate (it is still written, so the problem can be seen in place).
//!
//! Orchestration only: the plan file is built by `import`, the summary and notes are
//! rendered by `render::import`; this module checks arguments, reads, and writes the file.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::plan::log_stats;
use crate::aws::Aws;
use crate::desired::Account;
use crate::desired::{Key, PolicyMode, parse_key_arn};
use crate::error::{Error, Exit};
use crate::import::{self, AccountIn, BucketIn, Imported, Input, KeyIn, RoleIn};
use crate::live::{Session, iam, kms, s3};
use crate::names::{is_account_id, parse_iam_arn, valid_bucket_name, valid_role_name};
use crate::plan_file::diagnostic::display_path;
use crate::render;
use crate::settings::{ImportAccount, ImportSettings, Settings};

pub async fn run(global: &Settings, args: &ImportSettings) -> Result<Exit, Error> {
    let color = global.color_err;
    check_args(args)?;
    let aws = Aws::connect(&global.aws).await;
    // Each account's key inside this run's session is its id (the plan file's keys are
    // chosen later, by `import`).
    let accounts: Vec<Account> = args
        .accounts
        .iter()
        .map(|a| Account {
            key: a.id.clone(),
            id: a.id.clone(),
            assume_role: a.assume_role.clone(),
            external_id: a.external_id.clone(),
        })
        .collect();
    let wanted: Vec<&Account> = accounts.iter().collect();
    let session = Session::connect_accounts(aws, &wanted, &args.name)
        .await
        .map_err(in_flags)?;
    // Every read of every account at once, as `plan` does (bounded by `--parallelism`).
    let wanted_buckets: Vec<(usize, String)> = per_account(args, |a| &a.buckets);
    let wanted_roles: Vec<(usize, String)> = per_account(args, |a| &a.roles);
    let wanted_keys: Vec<(usize, String)> = per_account(args, |a| &a.keys);
    let (buckets, roles, keys) = futures::join!(
        futures::future::join_all(wanted_buckets.iter().map(|(i, n)| read_bucket(
            &session,
            *i,
            &args.accounts[*i].id,
            n
        ))),
        futures::future::join_all(wanted_roles.iter().map(|(i, n)| read_role(
            &session,
            *i,
            &args.accounts[*i].id,
            n
        ))),
        futures::future::join_all(wanted_keys.iter().map(|(i, a)| read_key(
            &session,
            &args.accounts[*i].id,
            a
        ))),
    );
    let keys = keys.into_iter().collect::<Result<Vec<_>, _>>()?;
    log_stats(&session.aws);
    // Missing resources, per account in command-line order.
    let mut missing: Vec<Vec<String>> = vec![Vec::new(); args.accounts.len()];
    let mut bucket_ins = Vec::new();
    for (b, (i, _)) in buckets.into_iter().zip(&wanted_buckets) {
        match b? {
            Ok(b) => bucket_ins.push(b),
            Err(name) => missing[*i].push(format!("bucket `{name}`")),
        }
    }
    let mut role_ins = Vec::new();
    for (r, (i, _)) in roles.into_iter().zip(&wanted_roles) {
        match r? {
            Ok(r) => role_ins.push(r),
            Err(name) => missing[*i].push(format!("role `{name}`")),
        }
    }
    let missing: Vec<String> = missing
        .iter()
        .zip(&args.accounts)
        .filter(|(m, _)| !m.is_empty())
        .map(|(m, a)| format!("{} not found in account {}", m.join(", "), a.id))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Refused {
            what: missing.join("; "),
            hint: Some(
                "check the names, that each follows the `--account` it is in, and that the credentials (or the role to assume) are for that account; roles are named without their path".into(),
            ),
        });
    }
    let input = Input {
        plan_name: args.name.clone(),
        accounts: args
            .accounts
            .iter()
            .map(|a| AccountIn {
                key: a.key.clone(),
                id: a.id.clone(),
                assume_role: a.assume_role.clone(),
                external_id: a.external_id.clone(),
                identity: Some(session.account(&a.id).identity()),
            })
            .collect(),
        buckets: bucket_ins,
        roles: role_ins,
        keys,
    };
    let imported = import::import(&input);
    write(args.out.as_deref(), &imported.text)?;
    report(args, &input, &imported, color)
}

/// `(account index, value)` for one per-account list, each value once per account.
fn per_account(
    args: &ImportSettings,
    list: impl Fn(&ImportAccount) -> &Vec<String>,
) -> Vec<(usize, String)> {
    args.accounts
        .iter()
        .enumerate()
        .flat_map(|(i, a)| dedup(list(a)).into_iter().map(move |v| (i, v)))
        .collect()
}

/// The session's account errors in the words of `import`'s flags: the account's key there
/// is this run's own, and no plan file exists yet whose `[accounts.KEY]` could be edited.
fn in_flags(err: Error) -> Error {
    match err {
        Error::AmbientAccountMismatch {
            declared, ambient, ..
        } => Error::Refused {
            what: format!("the credentials are for account {ambient}, not `--account {declared}`"),
            hint: Some(format!(
                "run with credentials for account {declared}, or give a role these credentials may assume there: `--account {declared}:arn:aws:iam::{declared}:role/NAME` (or `--assume-role` after that `--account`)"
            )),
        },
        Error::AssumedWrongAccount {
            role,
            declared,
            got,
            ..
        } => Error::Refused {
            what: format!(
                "the role `{role}` gave credentials for account {got}, not {declared} (`--account`)"
            ),
            hint: Some("give each `--account` a role in that account".into()),
        },
        other => other,
    }
}

/// Refuses arguments that cannot name what they should, before any AWS call.
fn check_args(args: &ImportSettings) -> Result<(), Error> {
    if let Some(m) = args.misplaced.first() {
        return Err(Error::Usage(format!(
            "{m}; each `--bucket`, `--role` and `--key` belongs to the `--account` before it"
        )));
    }
    let mut seen_ids: Vec<&str> = Vec::new();
    let mut seen_keys: Vec<&str> = Vec::new();
    for a in &args.accounts {
        check_account(a)?;
        if seen_ids.contains(&a.id.as_str()) {
            return Err(Error::Usage(format!(
                "`--account {}` is given twice; give all its resources after one `--account`",
                a.id
            )));
        }
        seen_ids.push(&a.id);
        if let Some(k) = &a.key {
            if seen_keys.contains(&k.as_str()) {
                return Err(Error::Usage(format!(
                    "`--account-key {k}` is given to two accounts; each needs its own key"
                )));
            }
            seen_keys.push(k);
        }
    }
    if let Some(out) = &args.out
        && out.exists()
    {
        return Err(exists(out));
    }
    Ok(())
}

/// One `--account` and the flags that belong to it.
fn check_account(a: &ImportAccount) -> Result<(), Error> {
    if !is_account_id(&a.id) {
        return Err(Error::Usage(format!(
            "`--account {}` is not an AWS account id (12 digits, optionally followed by `:ROLE_ARN`)",
            a.id
        )));
    }
    if let Some(k) = &a.key
        && (k.is_empty()
            || !k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        return Err(Error::Usage(format!(
            "`--account-key {k}` is not a plan-file key (letters, digits, `-` and `_`)"
        )));
    }
    if let Some(arn) = &a.assume_role {
        match parse_iam_arn(arn) {
            Some((id, kind, _)) if kind == "role" && id == a.id => {}
            _ => {
                return Err(Error::Usage(format!(
                    "`--assume-role {arn}` is not a role in account {}",
                    a.id
                )));
            }
        }
    }
    if let Some(x) = &a.external_id
        && a.assume_role.is_none()
    {
        return Err(Error::Usage(format!(
            "`--external-id {x}` needs a role to assume in account {} (`--account {}:ROLE_ARN` or `--assume-role`)",
            a.id, a.id
        )));
    }
    for b in &a.buckets {
        if !valid_bucket_name(b) {
            return Err(Error::Usage(format!(
                "`{b}` is not a bucket name s3ward can manage (3 to 63 lower-case letters, digits, `.` and `-`)"
            )));
        }
    }
    for r in &a.roles {
        if !valid_role_name(r) {
            return Err(Error::Usage(format!(
                "`{r}` is not an IAM role name; give the name without the path"
            )));
        }
    }
    for k in &a.keys {
        if parse_key_arn(k).is_none_or(|(_, acct)| acct != a.id) {
            return Err(Error::Usage(format!(
                "`--key {k}` is not the ARN of a KMS key in account {} (`arn:aws:kms:REGION:ACCOUNT:key/ID`)",
                a.id
            )));
        }
    }
    Ok(())
}

fn exists(path: &Path) -> Error {
    Error::Refused {
        what: format!("`{}` already exists", display_path(path)),
        hint: Some(
            "import never overwrites a file; choose another `--out`, or move it away".into(),
        ),
    }
}

fn dedup(names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if !out.contains(n) {
            out.push(n.clone());
        }
    }
    out
}

/// `Ok(Err(name))`: the bucket does not exist.
async fn read_bucket(
    session: &Session,
    account: usize,
    session_key: &str,
    name: &str,
) -> Result<Result<BucketIn, String>, Error> {
    let Some(region) = s3::bucket_region(session, session_key, name).await? else {
        return Ok(Err(name.to_string()));
    };
    let live = s3::read(
        session,
        session_key,
        &region,
        name,
        name,
        s3::BucketReads::ALL,
    )
    .await?;
    if !live.exists {
        return Ok(Err(name.to_string()));
    }
    let mut live = live;
    if let Some(e) = kms::read_encryption(session, session_key, &region, name, name).await? {
        live.encryption = e;
    }
    Ok(Ok(BucketIn {
        account,
        name: name.to_string(),
        region,
        live,
    }))
}

/// A key to adopt (DescribeKey, GetKeyPolicy, ListResourceTags); a missing key is an error.
async fn read_key(session: &Session, account: &str, arn: &str) -> Result<KeyIn, Error> {
    let region = parse_key_arn(arn).map_or("", |(r, _)| r).to_string();
    let key = Key {
        key: arn.to_string(),
        account: account.into(),
        account_id: account.to_string(),
        arn: arn.to_string(),
        region,
        policy_mode: PolicyMode::Merge,
        sid_prefix: String::new(),
        policy_statements: Vec::new(),
    };
    let live = kms::read_key(session, &key).await?;
    Ok(KeyIn {
        arn: arn.to_string(),
        live,
    })
}

/// `Ok(Err(name))`: the role does not exist.
async fn read_role(
    session: &Session,
    account: usize,
    session_key: &str,
    name: &str,
) -> Result<Result<RoleIn, String>, Error> {
    let live = iam::read(session, session_key, name, name, &iam::RoleReads::all()).await?;
    if !live.exists {
        return Ok(Err(name.to_string()));
    }
    Ok(Ok(RoleIn {
        account,
        name: name.to_string(),
        live,
    }))
}

/// The plan file to `path` (never over an existing file), or to stdout.
fn write(path: Option<&Path>, text: &str) -> Result<(), Error> {
    match path {
        Some(p) => {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(p);
            let mut file = match file {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(exists(p)),
                Err(source) => {
                    return Err(Error::WriteFile {
                        path: p.to_path_buf(),
                        source,
                    });
                }
            };
            file.write_all(text.as_bytes())
                .and_then(|()| file.flush())
                .map_err(|source| Error::WriteFile {
                    path: p.to_path_buf(),
                    source,
                })
        }
        None => {
            let mut out = super::stdout();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .map_err(Error::stdout)
        }
    }
}

/// A summary and the notes on stderr; the exit.
fn report(
    args: &ImportSettings,
    input: &Input,
    imported: &Imported,
    color: bool,
) -> Result<Exit, Error> {
    let out = args.out.as_deref();
    if let Some(mut r) = imported.invalid.clone() {
        r.path = args
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("<stdout>"));
        let _ = render::import::write_invalid(&mut std::io::stderr(), out);
        return Err(Error::InvalidPlan(Box::new(r)));
    }
    let summary = render::import::Summary {
        accounts: &args
            .accounts
            .iter()
            .map(|a| a.id.clone())
            .collect::<Vec<_>>(),
        buckets: input.buckets.len(),
        roles: input.roles.len(),
        out,
        notes: &imported.notes,
        needs_allow_self_lockout: imported.needs_allow_self_lockout,
    };
    let _ = render::import::write_summary(&mut std::io::stderr().lock(), &summary, color);
    Ok(Exit::Success)
}
