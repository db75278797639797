//! `s3ward import`: read live buckets and roles of one account and write a plan file that
//! describes them (see `import` and docs/import.md). Only reads: GetCallerIdentity (and
//! AssumeRole with `--assume-role`), then Get*/List* calls through `live`.
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
use crate::settings::{ImportSettings, Settings};

/// The account's key inside this run's session (not the plan file's key, chosen later).
const SESSION_KEY: &str = "import";

pub async fn run(global: &Settings, args: &ImportSettings) -> Result<Exit, Error> {
    let color = global.color_err;
    check_args(args)?;
    let buckets = dedup(&args.buckets);
    let roles = dedup(&args.roles);

    let aws = Aws::connect(&global.aws).await;
    let account = Account {
        key: SESSION_KEY.into(),
        id: args.account.clone(),
        assume_role: args.assume_role.clone(),
        external_id: args.external_id.clone(),
    };
    let session = Session::connect_accounts(aws, &[&account], &args.name)
        .await
        .map_err(in_flags)?;
    let key_arns = dedup(&args.keys);
    let (buckets, roles, keys) = futures::join!(
        futures::future::join_all(buckets.iter().map(|n| read_bucket(&session, n))),
        futures::future::join_all(roles.iter().map(|n| read_role(&session, n))),
        futures::future::join_all(
            key_arns
                .iter()
                .map(|a| read_key(&session, &args.account, a))
        ),
    );
    let keys = keys.into_iter().collect::<Result<Vec<_>, _>>()?;
    log_stats(&session.aws);
    let mut missing = Vec::new();
    let mut bucket_ins = Vec::new();
    for b in buckets {
        match b? {
            Ok(b) => bucket_ins.push(b),
            Err(name) => missing.push(format!("bucket `{name}`")),
        }
    }
    let mut role_ins = Vec::new();
    for r in roles {
        match r? {
            Ok(r) => role_ins.push(r),
            Err(name) => missing.push(format!("role `{name}`")),
        }
    }
    if !missing.is_empty() {
        return Err(Error::Refused {
            what: format!(
                "{} not found in account {}",
                missing.join(", "),
                args.account
            ),
            hint: Some(
                "check the names, and that the credentials (or `--assume-role`) are for that account; roles are named without their path".into(),
            ),
        });
    }
    let input = Input {
        plan_name: args.name.clone(),
        account: AccountIn {
            key: args.account_key.clone(),
            id: args.account.clone(),
            assume_role: args.assume_role.clone(),
            external_id: args.external_id.clone(),
        },
        buckets: bucket_ins,
        roles: role_ins,
        keys,
        identity: Some(session.account(SESSION_KEY).identity()),
    };
    let imported = import::import(&input);
    write(args.out.as_deref(), &imported.text)?;
    report(args, &input, &imported, color)
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
                "run with credentials for account {declared}, or add `--assume-role arn:aws:iam::{declared}:role/NAME` (a role these credentials may assume)"
            )),
        },
        Error::AssumedWrongAccount {
            role,
            declared,
            got,
            ..
        } => Error::Refused {
            what: format!(
                "`--assume-role {role}` gave credentials for account {got}, not {declared} (`--account`)"
            ),
            hint: Some("give `--assume-role` a role in the account of `--account`".into()),
        },
        other => other,
    }
}

/// Refuses arguments that cannot name what they should, before any AWS call.
fn check_args(args: &ImportSettings) -> Result<(), Error> {
    if !is_account_id(&args.account) {
        return Err(Error::Usage(format!(
            "`--account {}` is not an AWS account id (12 digits)",
            args.account
        )));
    }
    if let Some(k) = &args.account_key
        && (k.is_empty()
            || !k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        return Err(Error::Usage(format!(
            "`--account-key {k}` is not a plan-file key (letters, digits, `-` and `_`)"
        )));
    }
    if let Some(arn) = &args.assume_role {
        match parse_iam_arn(arn) {
            Some((id, kind, _)) if kind == "role" && id == args.account => {}
            _ => {
                return Err(Error::Usage(format!(
                    "`--assume-role {arn}` is not a role in account {}",
                    args.account
                )));
            }
        }
    }
    for b in &args.buckets {
        if !valid_bucket_name(b) {
            return Err(Error::Usage(format!(
                "`{b}` is not a bucket name s3ward can manage (3 to 63 lower-case letters, digits, `.` and `-`)"
            )));
        }
    }
    for r in &args.roles {
        if !valid_role_name(r) {
            return Err(Error::Usage(format!(
                "`{r}` is not an IAM role name; give the name without the path"
            )));
        }
    }
    for k in &args.keys {
        if parse_key_arn(k).is_none_or(|(_, acct)| acct != args.account) {
            return Err(Error::Usage(format!(
                "`--key {k}` is not the ARN of a KMS key in account {} (`arn:aws:kms:REGION:ACCOUNT:key/ID`)",
                args.account
            )));
        }
    }
    if let Some(out) = &args.out
        && out.exists()
    {
        return Err(exists(out));
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
async fn read_bucket(session: &Session, name: &str) -> Result<Result<BucketIn, String>, Error> {
    let Some(region) = s3::bucket_region(session, SESSION_KEY, name).await? else {
        return Ok(Err(name.to_string()));
    };
    let live = s3::read(
        session,
        SESSION_KEY,
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
    if let Some(e) = kms::read_encryption(session, SESSION_KEY, &region, name, name).await? {
        live.encryption = e;
    }
    Ok(Ok(BucketIn {
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
        account: SESSION_KEY.into(),
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
async fn read_role(session: &Session, name: &str) -> Result<Result<RoleIn, String>, Error> {
    let live = iam::read(session, SESSION_KEY, name, name, &iam::RoleReads::all()).await?;
    if !live.exists {
        return Ok(Err(name.to_string()));
    }
    Ok(Ok(RoleIn {
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
        account: &args.account,
        buckets: input.buckets.len(),
        roles: input.roles.len(),
        out,
        notes: &imported.notes,
        needs_allow_self_lockout: imported.needs_allow_self_lockout,
    };
    let _ = render::import::write_summary(&mut std::io::stderr().lock(), &summary, color);
    Ok(Exit::Success)
}
