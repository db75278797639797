//! `import`'s flags grouped by account: each `--bucket`, `--role`, `--key`, `--account-key`,
//! `--assume-role` and `--external-id` belongs to the `--account` before it on the command
//! line (clap gives each value's index). Only the grouping: whether an id, an ARN or a name
//! is well formed is checked by `app::import`, which words every problem.

use std::path::PathBuf;

use crate::cli::ImportArgs;

/// `s3ward import`, decided.
#[derive(Clone, Debug)]
pub struct ImportSettings {
    /// In command-line order; at least one (clap requires `--account`).
    pub accounts: Vec<ImportAccount>,
    /// What the command line says that cannot be grouped, as flags (`--bucket b-1` before
    /// any `--account`, a second `--assume-role` for one account): `app::import` refuses it.
    pub misplaced: Vec<String>,
    pub name: String,
    pub out: Option<PathBuf>,
}

/// One `--account` and the flags after it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportAccount {
    /// The id as given (before `:`).
    pub id: String,
    /// `--account ID:ROLE_ARN`, or `--assume-role`.
    pub assume_role: Option<String>,
    pub external_id: Option<String>,
    /// `--account-key`.
    pub key: Option<String>,
    pub buckets: Vec<String>,
    pub roles: Vec<String>,
    pub keys: Vec<String>,
}

/// Groups the flags by the `--account` before them. Options of the account itself
/// (`--account-key`, `--assume-role`, `--external-id`) given before the first `--account`
/// belong to the first, as they did when import took one account; resources never do.
/// Without positions (parsed without `Cli::try_parse_ordered`) everything belongs to the
/// first account.
pub(super) fn group(a: ImportArgs) -> ImportSettings {
    let p = &a.positions;
    let ordered = p.account.len() == a.account.len();
    let mut misplaced = Vec::new();
    let mut accounts: Vec<ImportAccount> = a
        .account
        .iter()
        .map(|v| {
            let (id, role) = match v.split_once(':') {
                Some((id, role)) => (id.to_string(), Some(role.to_string())),
                None => (v.clone(), None),
            };
            ImportAccount {
                id,
                assume_role: role,
                ..Default::default()
            }
        })
        .collect();
    // The account a value at command-line index `at` belongs to: the last `--account`
    // before it; `None` before the first.
    let owner = |at: Option<&usize>| -> Option<usize> {
        if !ordered {
            return Some(0);
        }
        let at = *at?;
        p.account.iter().rposition(|i| *i < at)
    };
    let mut resources = |flag: &str,
                         values: &[String],
                         at: &[usize],
                         accounts: &mut Vec<ImportAccount>,
                         pick: fn(&mut ImportAccount) -> &mut Vec<String>| {
        for (n, v) in values.iter().enumerate() {
            match owner(at.get(n)) {
                Some(i) if i < accounts.len() => pick(&mut accounts[i]).push(v.clone()),
                _ => misplaced.push(format!("`--{flag} {v}` comes before any `--account`")),
            }
        }
    };
    resources("bucket", &a.buckets, &p.buckets, &mut accounts, |x| {
        &mut x.buckets
    });
    resources("role", &a.roles, &p.roles, &mut accounts, |x| &mut x.roles);
    resources("key", &a.keys, &p.keys, &mut accounts, |x| &mut x.keys);
    let mut options = |flag: &str,
                       values: &[String],
                       at: &[usize],
                       accounts: &mut Vec<ImportAccount>,
                       pick: fn(&mut ImportAccount) -> &mut Option<String>| {
        for (n, v) in values.iter().enumerate() {
            let i = owner(at.get(n)).unwrap_or(0);
            let Some(acct) = accounts.get_mut(i) else {
                continue;
            };
            let id = acct.id.clone();
            let slot = pick(acct);
            if slot.is_some() {
                misplaced.push(format!(
                    "`--{flag} {v}` is a second {} for `--account {id}`",
                    if flag == "assume-role" {
                        "role to assume (`--assume-role`, or `--account ID:ROLE_ARN`)".to_string()
                    } else {
                        format!("`--{flag}`")
                    }
                ));
            } else {
                *slot = Some(v.clone());
            }
        }
    };
    options(
        "assume-role",
        &a.assume_role,
        &p.assume_role,
        &mut accounts,
        |x| &mut x.assume_role,
    );
    options(
        "external-id",
        &a.external_id,
        &p.external_id,
        &mut accounts,
        |x| &mut x.external_id,
    );
    options(
        "account-key",
        &a.account_key,
        &p.account_key,
        &mut accounts,
        |x| &mut x.key,
    );
    ImportSettings {
        accounts,
        misplaced,
        name: a.name,
        out: a.out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};

    fn grouped(args: &[&str]) -> ImportSettings {
        let cli =
            Cli::try_parse_ordered_from(["s3ward", "import"].iter().chain(args)).expect("parses");
        let Command::Import(a) = cli.command else {
            panic!("import")
        };
        group(a)
    }

    #[test]
    fn resources_belong_to_the_account_before_them() {
        let s = grouped(&[
            "--account",
            "111111111111:arn:aws:iam::111111111111:role/s3ward",
            "--bucket",
            "models",
            "data",
            "--role",
            "reader",
            "--account",
            "222222222222",
            "--role",
            "ray-nodes",
            "--account-key",
            "compute",
            "--assume-role",
            "arn:aws:iam::222222222222:role/s3ward",
            "--bucket",
            "scratch",
        ]);
        assert!(s.misplaced.is_empty(), "{:?}", s.misplaced);
        assert_eq!(
            s.accounts,
            vec![
                ImportAccount {
                    id: "111111111111".into(),
                    assume_role: Some("arn:aws:iam::111111111111:role/s3ward".into()),
                    buckets: vec!["models".into(), "data".into()],
                    roles: vec!["reader".into()],
                    ..Default::default()
                },
                ImportAccount {
                    id: "222222222222".into(),
                    assume_role: Some("arn:aws:iam::222222222222:role/s3ward".into()),
                    key: Some("compute".into()),
                    buckets: vec!["scratch".into()],
                    roles: vec!["ray-nodes".into()],
                    ..Default::default()
                },
            ]
        );
    }

    #[test]
    fn a_resource_before_any_account_is_misplaced_but_options_go_to_the_first() {
        let s = grouped(&[
            "--assume-role",
            "arn:aws:iam::111111111111:role/s3ward",
            "--bucket",
            "early",
            "--account",
            "111111111111",
            "--role",
            "r",
        ]);
        assert_eq!(
            s.misplaced,
            vec!["`--bucket early` comes before any `--account`".to_string()]
        );
        assert_eq!(
            s.accounts[0].assume_role.as_deref(),
            Some("arn:aws:iam::111111111111:role/s3ward")
        );
        assert_eq!(s.accounts[0].roles, vec!["r".to_string()]);
        assert!(s.accounts[0].buckets.is_empty());
    }

    #[test]
    fn two_roles_for_one_account_are_misplaced() {
        let s = grouped(&[
            "--account",
            "111111111111:arn:aws:iam::111111111111:role/a",
            "--assume-role",
            "arn:aws:iam::111111111111:role/b",
            "--bucket",
            "b-1",
        ]);
        assert_eq!(s.misplaced.len(), 1, "{:?}", s.misplaced);
        assert!(s.misplaced[0].contains("second role to assume"));
    }
}
