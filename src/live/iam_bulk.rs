//! Reading many roles of one account at once: IAM's GetAccountAuthorizationDetails
//! (`Filter=Role`) returns every role's trust, inline policies, attached managed policies and
//! tags, up to 1,000 roles a page, where the per-role path ([`super::iam::read`]) costs
//! GetRole, ListRolePolicies, one GetRolePolicy per inline policy and ListAttachedRolePolicies:
//! two calls per role at the least, three or four for most.
//!
//! The rule, by counting calls: an account in which the plan reads at least
//! [`BULK_MIN_ROLES`] roles (its own roles and the roles its grants and trust entries name)
//! is listed once; others are read role by role. The listing's pages hold every role of the
//! account, and IAM allows at most 5,000 roles in an account (1,000 by default): at most five
//! pages of 1,000, against at least twenty calls (GetRole and ListRolePolicies) for ten roles
//! read one by one. IAM may return fewer roles a page than asked for; that has not been
//! measured against real IAM. A listing refused with
//! `AccessDenied` (a policy written for an earlier s3ward, without
//! `iam:GetAccountAuthorizationDetails`) falls back to the per-role path.
//!
//! The listing has no description or session length. Where a role read from the listing sets
//! either in the plan file, the account's roles are also listed with ListRoles (1,000 a page,
//! description and session length but no tags or policies), at the same time as the first
//! listing; if that is refused, each such role is read with GetRole.

use std::collections::{BTreeMap, BTreeSet};

use super::iam::{RoleReads, absent};
use super::{LiveDocument, LivePrincipal, LiveRole, Session, Setting};
use crate::aws::{Op, RetryPolicy};
use crate::change::Address;
pub use crate::desired::{BULK_MIN_ROLES, accounts_to_list};
use crate::desired::{PrincipalKind, PrincipalToRead, Role};
use crate::error::Error;

/// One account's roles, by lower-cased name (IAM role names are unique regardless of case).
#[derive(Debug, Default)]
pub struct Listing {
    roles: BTreeMap<String, Listed>,
    /// From ListRoles, when asked for and allowed.
    described: Option<Described>,
}

#[derive(Debug)]
struct Listed {
    arn: String,
    path: String,
    trust: Option<String>,
    inline: BTreeMap<String, String>,
    attached: BTreeSet<String>,
    tags: BTreeMap<String, String>,
}

/// Description and session length by lower-cased role name, from ListRoles.
type Described = BTreeMap<String, (Option<String>, Option<i32>)>;

/// Lists every role of `account`, page by page, and with `described` their descriptions and
/// session lengths too (ListRoles, at the same time); `None` when the listing is refused
/// (`AccessDenied`): read those roles one by one then.
pub async fn list(
    session: &Session,
    account: &str,
    described: bool,
) -> Result<Option<Listing>, Error> {
    let (listing, described) = futures::join!(authorization_details(session, account), async {
        if described {
            list_roles(session, account).await
        } else {
            None
        }
    });
    Ok(listing?.map(|mut l| {
        l.described = described;
        l
    }))
}

/// ListRoles, every page: description and session length by lower-cased name; `None` when it
/// fails (refused, say): each role that needs them is read with GetRole then, which reports
/// its own failure. The listing is a saving, not a source the plan depends on.
async fn list_roles(session: &Session, account: &str) -> Option<Described> {
    let aws = &session.aws;
    let iam = session.iam(account);
    let mut described = Described::new();
    let mut marker: Option<String> = None;
    loop {
        let out = aws
            .call(Op::iam("ListRoles", account), RetryPolicy::STANDARD, || {
                iam.list_roles()
                    .max_items(1000)
                    .set_marker(marker.clone())
                    .send()
            })
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                tracing::info!(
                    target: "s3ward::aws",
                    "listing the roles of account {account} with ListRoles failed ({}); reading descriptions with GetRole",
                    e.short()
                );
                return None;
            }
        };
        for r in out.roles() {
            described.insert(
                r.role_name().to_ascii_lowercase(),
                (
                    r.description().map(str::to_string),
                    r.max_session_duration(),
                ),
            );
        }
        match out.marker().filter(|_| out.is_truncated()) {
            Some(next) => marker = Some(next.to_string()),
            None => return Some(described),
        }
    }
}

/// GetAccountAuthorizationDetails (`Filter=Role`), every page.
async fn authorization_details(session: &Session, account: &str) -> Result<Option<Listing>, Error> {
    let aws = &session.aws;
    let iam = session.iam(account);
    let mut listing = Listing::default();
    let mut marker: Option<String> = None;
    loop {
        let out = aws
            .call(
                Op::iam("GetAccountAuthorizationDetails", account),
                RetryPolicy::STANDARD,
                || {
                    iam.get_account_authorization_details()
                        .filter(aws_sdk_iam::types::EntityType::Role)
                        .max_items(1000)
                        .set_marker(marker.clone())
                        .send()
                },
            )
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) if e.code_is("AccessDenied") => {
                tracing::info!(
                    target: "s3ward::aws",
                    "listing the roles of account {account} was refused ({}); reading them one by one",
                    e.short()
                );
                return Ok(None);
            }
            Err(e) => return Err(Error::aws(format!("account `{account}`"), e)),
        };
        for r in out.role_detail_list() {
            let (Some(name), Some(arn)) = (r.role_name(), r.arn()) else {
                continue;
            };
            listing.roles.insert(
                name.to_ascii_lowercase(),
                Listed {
                    arn: arn.to_string(),
                    path: r.path().unwrap_or("/").to_string(),
                    trust: r.assume_role_policy_document().map(str::to_string),
                    inline: r
                        .role_policy_list()
                        .iter()
                        .filter_map(|p| {
                            Some((
                                p.policy_name()?.to_string(),
                                p.policy_document()?.to_string(),
                            ))
                        })
                        .collect(),
                    attached: r
                        .attached_managed_policies()
                        .iter()
                        .filter_map(|p| p.policy_arn().map(str::to_string))
                        .collect(),
                    tags: r
                        .tags()
                        .iter()
                        .map(|t| (t.key().to_string(), t.value().to_string()))
                        .collect(),
                },
            );
        }
        match out.marker().filter(|_| out.is_truncated()) {
            Some(next) => marker = Some(next.to_string()),
            None => return Ok(Some(listing)),
        }
    }
}

/// What the plan file manages of `r`, from the listing (and GetRole for the description and
/// session length when the plan file sets them).
pub async fn read_role(session: &Session, listing: &Listing, r: &Role) -> Result<LiveRole, Error> {
    let reads = RoleReads::managed(r);
    let Some(listed) = listing.roles.get(&r.name.to_ascii_lowercase()) else {
        return Ok(absent(&reads));
    };
    let (mut description, mut max_session_duration) = (None, None);
    let declared = r.description.is_some() || r.max_session_duration.is_some();
    let from_list = listing
        .described
        .as_ref()
        .and_then(|d| d.get(&r.name.to_ascii_lowercase()));
    if let (true, Some((d, m))) = (declared, from_list) {
        description = d.clone();
        max_session_duration = *m;
    } else if declared {
        let iam = session.iam(&r.account);
        let name = r.name.as_str();
        let got = session
            .aws
            .call(Op::iam("GetRole", name), RetryPolicy::STANDARD, || {
                iam.get_role().role_name(name).send()
            })
            .await;
        match got {
            Ok(out) => {
                let role = out.role();
                description = role.and_then(|r| r.description()).map(str::to_string);
                max_session_duration = role.and_then(|r| r.max_session_duration());
            }
            Err(e) if e.code_is("NoSuchEntity") => return Ok(absent(&reads)),
            Err(e) => return Err(Error::aws(Address::Role(r.key.clone()).to_string(), e)),
        }
    }
    Ok(LiveRole {
        exists: true,
        arn: listed.arn.clone(),
        path: listed.path.clone(),
        description,
        max_session_duration,
        tags: listed.tags.clone(),
        trust: listed.trust.as_deref().map(LiveDocument::from_text),
        managed: if reads.managed {
            Setting::Present(listed.attached.clone())
        } else {
            Setting::NotRead
        },
        // The listing has them anyway: not managed, but listed as granting access.
        attached_unmanaged: if reads.managed {
            Default::default()
        } else {
            listed.attached.clone()
        },
        inline: listed
            .inline
            .iter()
            .map(|(n, d)| (n.clone(), LiveDocument::from_text(d)))
            .collect(),
        inline_complete: true,
    })
}

/// Whether a role that a grant or trust entry names exists, from the listing; users are not
/// listed (`None`: read it with GetUser).
pub fn principal(listing: &Listing, p: &PrincipalToRead) -> Option<LivePrincipal> {
    if p.kind != PrincipalKind::Role {
        return None;
    }
    Some(match listing.roles.get(&p.name.to_ascii_lowercase()) {
        Some(r) if r.path == p.path => LivePrincipal::Exists,
        Some(r) => LivePrincipal::OtherPath(r.path.clone()),
        None => LivePrincipal::Missing,
    })
}
