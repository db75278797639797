//! The pod identity associations of one role (`role.KEY.pod_identity["CLUSTER/NS/SA"]`):
//! absent → created, tagged `managed-by = s3ward` and with the plan's name; pointing at
//! another role → updated (the change says which role it pointed at); right → nothing.
//! Never deleted: which associations a removed entry left behind cannot be known safely
//! (docs/decisions.md). Also the `pod_identity` digest of the role's `s3ward:applied`
//! record, in the same terms as the comparison. Pure: no AWS, no output.

use std::collections::BTreeMap;

use serde_json::json;

use super::{change, created_tags};
use crate::applied;
use crate::change::{Action, Address, ChangeSet, Problem, Write};
use crate::desired::{AssociationWrite, Desired, PodIdentityAssociation, Role};
use crate::state::{LiveAssociation, Setting};

/// The associations read for one role, by `CLUSTER/NS/SA`.
pub(super) type LiveAssociations = BTreeMap<String, Setting<LiveAssociation>>;

/// The tag that marks what s3ward created (SPEC), on associations as on roles and buckets.
const MANAGED_BY: (&str, &str) = ("managed-by", "s3ward");

/// The changes of `r`'s associations; `live`: as read (`None`: none was read).
pub(super) fn diff(
    desired: &Desired,
    r: &Role,
    live: Option<&LiveAssociations>,
    cs: &mut ChangeSet,
) {
    // Not read at all (`import` reads no association): nothing to say about them.
    let Some(live) = live else {
        return;
    };
    let role_arn = r.arn();
    for a in &r.pod_identity {
        let address = Address::RolePodIdentity(r.key.clone(), a.key());
        let account = desired.accounts.values().find(|acc| acc.id == a.account_id);
        let state = live.get(&a.key());
        let (Some(account), Some(state)) = (account, state) else {
            not_read(a, address, cs);
            continue;
        };
        let write = |association_id: Option<String>, tags| {
            Write::PodIdentityAssociation(AssociationWrite {
                account: account.key.clone(),
                region: a.region.clone(),
                cluster: a.cluster.clone(),
                namespace: a.namespace.clone(),
                service_account: a.service_account.clone(),
                role_arn: role_arn.clone(),
                association_id,
                tags,
            })
        };
        match state {
            Setting::NotRead => not_read(a, address, cs),
            Setting::Absent => {
                let tags = created_tags(desired, &BTreeMap::new());
                let mut c = change(address, Action::Create, write(None, tags.clone()));
                c.after = Some(json!({
                    "cluster": a.cluster,
                    "region": a.region,
                    "account": a.account_id,
                    "namespace": a.namespace,
                    "service_account": a.service_account,
                    "role_arn": role_arn,
                    "tags": tags,
                }));
                cs.changes.push(c);
            }
            Setting::Present(l) if l.role_arn != role_arn => {
                let update = write(Some(l.id.clone()), BTreeMap::new());
                let mut c = change(address, Action::Update, update);
                c.reason = Some(format!(
                    "the association `{}` points at `{}`",
                    l.id, l.role_arn
                ));
                c.before = Some(json!({ "role_arn": l.role_arn }));
                c.after = Some(json!({ "role_arn": role_arn }));
                if !created_by_s3ward(l) {
                    c.notes.push(
                        "not created by s3ward (no `managed-by = s3ward` tag): s3ward points it at this role, and will never delete it".into(),
                    );
                }
                cs.changes.push(c);
            }
            Setting::Present(_) => {}
        }
    }
}

fn not_read(a: &PodIdentityAssociation, address: Address, cs: &mut ChangeSet) {
    cs.warnings.push(Problem {
        address,
        message: format!(
            "not read: s3ward has no session in the cluster's account `{}`",
            a.account_id
        ),
        hint: Some(
            "declare that account in `[accounts]` (with `assume_role` unless it is the one s3ward runs in)".into(),
        ),
        place: None,
    });
}

/// Whether s3ward created this association (its tag says so).
pub(super) fn created_by_s3ward(l: &LiveAssociation) -> bool {
    l.tags.get(MANAGED_BY.0).map(String::as_str) == Some(MANAGED_BY.1)
}

/// The `pod_identity` digest of the role's record: each association's role ARN, as
/// desired (`live = None`) or as read. One not read counts as desired (it shows no change,
/// so it must not read as drift either). `None` when the role has no `pod_identity` entry,
/// so that the records of other roles stay as they were.
pub(super) fn digest(r: &Role, live: Option<&LiveAssociations>) -> Option<String> {
    if r.pod_identity.is_empty() {
        return None;
    }
    let want = r.arn();
    let parts: Vec<String> = r
        .pod_identity
        .iter()
        .map(|a| {
            let arn = match live.map(|l| l.get(&a.key())) {
                None | Some(None | Some(Setting::NotRead)) => want.as_str(),
                Some(Some(Setting::Absent)) => "absent",
                Some(Some(Setting::Present(l))) => l.role_arn.as_str(),
            };
            format!("{}={arn}", a.key())
        })
        .collect();
    Some(applied::digest(&parts.join(";")))
}

#[cfg(test)]
#[path = "pod_identity_tests.rs"]
mod tests;
