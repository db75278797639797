//! Reading one role's managed settings (IAM): the role itself (trust, path, description,
//! session length, tags), attached managed policies, and inline policies. Listing is
//! paginated; documents are URL-decoded.

use std::collections::{BTreeMap, BTreeSet};

use super::{LiveDocument, LiveRole, Session, Setting};
use crate::aws::{AwsError, Op, RetryPolicy};
use crate::change::Address;
use crate::desired::{GRANTS_POLICY_NAME, Mode, Role};
use crate::error::Error;

/// Which of a role's policies to read (GetRole is always read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleReads {
    /// ListAttachedRolePolicies.
    pub managed: bool,
    /// `None`: list every inline policy and read each; `Some(names)`: read only these.
    pub inline: Option<Vec<String>>,
}

impl RoleReads {
    /// Everything (for `import`).
    pub fn all() -> RoleReads {
        RoleReads {
            managed: true,
            inline: None,
        }
    }

    /// What the plan file manages of `r`. Exclusive inline management needs the full list;
    /// otherwise only the names that matter are read, which saves the list call.
    pub fn managed(r: &Role) -> RoleReads {
        let list = r.inline_policies.is_some() && r.inline_policies_mode == Mode::Exclusive;
        RoleReads {
            managed: r.managed_policies.is_some(),
            inline: (!list).then(|| {
                std::iter::once(GRANTS_POLICY_NAME.to_string())
                    .chain(r.inline_policies.iter().flatten().map(|(n, _)| n.clone()))
                    .collect()
            }),
        }
    }
}

/// Reads what the plan file manages of a role.
pub async fn read_role(session: &Session, r: &Role) -> Result<LiveRole, Error> {
    read(session, &r.account, &r.name, &r.key, &RoleReads::managed(r)).await
}

/// Reads a role by name; errors name `role.KEY` with `key`.
pub async fn read(
    session: &Session,
    account: &str,
    name: &str,
    key: &str,
    reads: &RoleReads,
) -> Result<LiveRole, Error> {
    let aws = &session.aws;
    let iam = session.iam(account);
    let role_addr = Address::Role(key.to_string()).to_string();

    let get_role = async {
        aws.call(Op::iam("GetRole", name), RetryPolicy::STANDARD, || {
            iam.get_role().role_name(name).send()
        })
        .await
    };
    let attached = async {
        if !reads.managed {
            return Ok(Setting::NotRead);
        }
        let mut arns = BTreeSet::new();
        let mut marker: Option<String> = None;
        loop {
            let out = aws
                .call(
                    Op::iam("ListAttachedRolePolicies", name),
                    RetryPolicy::STANDARD,
                    || {
                        iam.list_attached_role_policies()
                            .role_name(name)
                            .set_marker(marker.clone())
                            .send()
                    },
                )
                .await;
            let out = match out {
                Ok(o) => o,
                Err(e) if e.code_is("NoSuchEntity") => return Ok(Setting::Absent),
                Err(e) => return Err(e),
            };
            arns.extend(
                out.attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn().map(str::to_string)),
            );
            match (out.is_truncated(), out.marker()) {
                (true, Some(m)) => marker = Some(m.to_string()),
                _ => break,
            }
        }
        Ok(Setting::Present(arns))
    };
    let list_inline = reads.inline.is_none();
    let inline = async {
        let names: Vec<String> = if list_inline {
            let mut names = Vec::new();
            let mut marker: Option<String> = None;
            loop {
                let out = aws
                    .call(
                        Op::iam("ListRolePolicies", name),
                        RetryPolicy::STANDARD,
                        || {
                            iam.list_role_policies()
                                .role_name(name)
                                .set_marker(marker.clone())
                                .send()
                        },
                    )
                    .await;
                let out = match out {
                    Ok(o) => o,
                    Err(e) if e.code_is("NoSuchEntity") => return Ok(BTreeMap::new()),
                    Err(e) => return Err(e),
                };
                names.extend(out.policy_names().iter().cloned());
                match (out.is_truncated(), out.marker()) {
                    (true, Some(m)) => marker = Some(m.to_string()),
                    _ => break,
                }
            }
            names
        } else {
            reads.inline.clone().unwrap_or_default()
        };
        let docs = futures::future::join_all(names.iter().map(|pname| {
            let iam = iam.clone();
            async move {
                let out = aws
                    .call(
                        Op::iam("GetRolePolicy", name),
                        RetryPolicy::STANDARD,
                        || {
                            iam.get_role_policy()
                                .role_name(name)
                                .policy_name(pname)
                                .send()
                        },
                    )
                    .await;
                match out {
                    Ok(o) => Ok(Some((
                        pname.clone(),
                        LiveDocument::from_text(o.policy_document()),
                    ))),
                    Err(e) if e.code_is("NoSuchEntity") => Ok(None),
                    Err(e) => Err(e),
                }
            }
        }))
        .await;
        let mut map = BTreeMap::new();
        for d in docs {
            if let Some((n, doc)) = d? {
                map.insert(n, doc);
            }
        }
        Ok::<_, AwsError>(map)
    };
    let (role, attached, inline) = futures::join!(get_role, attached, inline);
    let role = match role {
        Ok(o) => o,
        Err(e) if e.code_is("NoSuchEntity") => return Ok(absent(reads)),
        Err(e) => return Err(Error::aws(role_addr, e)),
    };
    let Some(role) = role.role() else {
        return Ok(absent(reads));
    };
    let attached = attached.map_err(|e| Error::aws(role_addr.clone(), e))?;
    let inline = inline.map_err(|e| Error::aws(role_addr.clone(), e))?;
    Ok(LiveRole {
        exists: true,
        arn: role.arn().to_string(),
        path: role.path().to_string(),
        description: role.description().map(str::to_string),
        max_session_duration: role.max_session_duration(),
        tags: role
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
        trust: role
            .assume_role_policy_document()
            .map(LiveDocument::from_text),
        managed: attached,
        inline,
        inline_complete: list_inline,
    })
}

/// A missing role, with only the settings that were asked for marked as read (so that a
/// saved plan's fingerprints match a later read of the same settings).
fn absent(reads: &RoleReads) -> LiveRole {
    let mut r = LiveRole::absent();
    if !reads.managed {
        r.managed = Setting::NotRead;
    }
    r
}
