//! Reading one role's managed settings (IAM): the role itself (trust, path, description,
//! session length, tags), attached managed policies, and inline policies. Listing is
//! paginated; documents are URL-decoded. Also whether the roles and users that grants and
//! trust entries name exist ([`read_principal`]).

use std::collections::{BTreeMap, BTreeSet};

use super::{LiveDocument, LivePrincipal, LiveRole, Session, Setting};
use crate::aws::{AwsError, Op, RetryPolicy};
use crate::change::Address;
use crate::desired::{PrincipalKind, PrincipalToRead, Role};
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

    /// What the plan file manages of `r`, and every inline policy: exclusive management
    /// deletes the undeclared ones, and otherwise they stay and count towards IAM's limit on
    /// a role's inline policies together (SPEC item 7), which s3ward checks before writing.
    /// Reading only the declared names saved the list call but left that limit unchecked.
    pub fn managed(r: &Role) -> RoleReads {
        RoleReads {
            managed: r.managed_policies.is_some(),
            inline: None,
        }
    }
}

/// Reads what the plan file manages of a role.
///
/// The description and session length are kept only when the plan file declares one of
/// them, as the bulk listing (`iam_bulk.rs`, which has neither) does: both paths then give
/// the same data, so a saved plan made on one is not stale on the other (a plan role allowed
/// the listing, an apply role that falls back to per-role reads).
///
/// The attached managed policies are listed also when the plan file does not declare
/// `managed_policies` (one ListAttachedRolePolicies): not to manage them, but so that `plan`
/// and `drift` can say that they grant access beyond the plan file (`attached_unmanaged`).
pub async fn read_role(session: &Session, r: &Role) -> Result<LiveRole, Error> {
    let declared = RoleReads::managed(r);
    let reads = RoleReads {
        managed: true,
        ..declared.clone()
    };
    let mut live = read(session, &r.account, &r.name, &r.key, &reads).await?;
    if !declared.managed {
        unmanaged_attachments(&mut live);
    }
    if r.description.is_none() && r.max_session_duration.is_none() {
        live.description = None;
        live.max_session_duration = None;
    }
    Ok(live)
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
    let iam_ref = &iam;
    let attached = async {
        if !reads.managed {
            return Ok(Setting::NotRead);
        }
        let arns = all_pages(|marker| async move {
            let out = aws
                .call(
                    Op::iam("ListAttachedRolePolicies", name),
                    RetryPolicy::STANDARD,
                    || {
                        iam_ref
                            .list_attached_role_policies()
                            .role_name(name)
                            .set_marker(marker.clone())
                            .send()
                    },
                )
                .await?;
            let arns = out
                .attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_string))
                .collect();
            Ok((arns, next_marker(out.is_truncated(), out.marker())))
        })
        .await?;
        Ok(match arns {
            Some(arns) => Setting::Present(arns.into_iter().collect::<BTreeSet<_>>()),
            None => Setting::Absent,
        })
    };
    let list_inline = reads.inline.is_none();
    let inline = async {
        let names: Vec<String> = if list_inline {
            let names = all_pages(|marker| async move {
                let out = aws
                    .call(
                        Op::iam("ListRolePolicies", name),
                        RetryPolicy::STANDARD,
                        || {
                            iam_ref
                                .list_role_policies()
                                .role_name(name)
                                .set_marker(marker.clone())
                                .send()
                        },
                    )
                    .await?;
                let names = out.policy_names().to_vec();
                Ok((names, next_marker(out.is_truncated(), out.marker())))
            })
            .await?;
            match names {
                Some(names) => names,
                None => return Ok(BTreeMap::new()),
            }
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
        attached_unmanaged: BTreeSet::new(),
        inline,
        inline_complete: list_inline,
    })
}

/// Moves the attachments read into `attached_unmanaged`, leaving `managed` not read, as for
/// a plan file that does not declare `managed_policies`.
pub(super) fn unmanaged_attachments(live: &mut LiveRole) {
    let read = std::mem::replace(&mut live.managed, Setting::NotRead);
    live.attached_unmanaged = read.present().cloned().unwrap_or_default();
}

/// A missing role, with only the settings that were asked for marked as read (so that a
/// saved plan's fingerprints match a later read of the same settings).
pub(super) fn absent(reads: &RoleReads) -> LiveRole {
    let mut r = LiveRole::absent();
    if !reads.managed {
        r.managed = Setting::NotRead;
    }
    r
}

/// Every item of an IAM list that pages with `Marker`, or `None` when the role does not
/// exist (`NoSuchEntity`). `page(marker)` reads one page: its items and the next marker.
async fn all_pages<T, F, Fut>(mut page: F) -> Result<Option<Vec<T>>, AwsError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), AwsError>>,
{
    let mut items = Vec::new();
    let mut marker = None;
    loop {
        match page(marker.take()).await {
            Ok((got, next)) => {
                items.extend(got);
                match next {
                    Some(m) => marker = Some(m),
                    None => return Ok(Some(items)),
                }
            }
            Err(e) if e.code_is("NoSuchEntity") => return Ok(None),
            Err(e) => return Err(e),
        }
    }
}

/// IAM's next page marker: only when the answer says it is truncated.
fn next_marker(truncated: bool, marker: Option<&str>) -> Option<String> {
    marker.filter(|_| truncated).map(str::to_string)
}

/// Reads whether a role or user that a grant or trust entry names exists, by name in its
/// account (`account`: the plan-file key s3ward has a session for), and with the path the
/// ARN gives. The error names `at`, the bucket policy or trust that names it.
pub async fn read_principal(
    session: &Session,
    account: &str,
    p: &PrincipalToRead,
    at: &Address,
) -> Result<LivePrincipal, Error> {
    let aws = &session.aws;
    let iam = session.iam(account);
    let name = p.name.as_str();
    let path = match p.kind {
        PrincipalKind::Role => aws
            .call(Op::iam("GetRole", name), RetryPolicy::STANDARD, || {
                iam.get_role().role_name(name).send()
            })
            .await
            .map(|o| o.role().map(|r| r.path().to_string())),
        PrincipalKind::User => aws
            .call(Op::iam("GetUser", name), RetryPolicy::STANDARD, || {
                iam.get_user().user_name(name).send()
            })
            .await
            .map(|o| o.user().map(|u| u.path().to_string())),
    };
    Ok(match path {
        Ok(Some(path)) if path == p.path => LivePrincipal::Exists,
        Ok(Some(path)) => LivePrincipal::OtherPath(path),
        Ok(None) => LivePrincipal::Missing,
        Err(e) if e.code_is("NoSuchEntity") => LivePrincipal::Missing,
        Err(e) if e.code_is("AccessDenied") => LivePrincipal::Unreadable(e.message),
        Err(e) => return Err(Error::aws(at.to_string(), e)),
    })
}
