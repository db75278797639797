//! Reading a live trust policy back as typed `trust` entries.
//!
//! s3ward writes one statement per entry, without Sids (`desired::trust_document`). A live
//! statement becomes an entry only when the entry's statement is the live statement in
//! meaning, and the whole document only when every statement does and the documents are
//! [`equivalent`] (Version included when a statement holds `${`). Anything else is kept raw in `trust_policy`, with the
//! reason in a comment: a Sid, a Deny, several principals in one statement, an action or a
//! condition that the typed entries do not write.

use std::collections::BTreeMap;

use super::model::{TrustEntryOut, TrustOut};
use crate::desired::{POD_IDENTITY_SERVICE, TrustEntry, eks_cluster_arn, trust_document};
use crate::names::{parse_iam_arn, parse_oidc_provider_arn};
use crate::policy::canonical::{canonical_principal, effective_version, statements_equivalent};
use crate::policy::{Effect, PolicyDocument, Statement, equivalent};

/// What a trust entry may name besides literal ARNs.
pub struct TrustNames<'a> {
    /// The account the role lives in (EKS providers are in it).
    pub role_account: &'a str,
    /// Imported accounts: id → key.
    pub accounts: &'a BTreeMap<String, String>,
    /// Imported roles: ARN → key.
    pub roles: &'a BTreeMap<String, String>,
}

/// Typed entries when they write `doc` again exactly, else the raw document and why.
pub fn trust_out(doc: &PolicyDocument, names: &TrustNames<'_>) -> TrustOut {
    let raw = |reason: String| TrustOut::Raw {
        json: doc.to_pretty(),
        reason,
    };
    if doc.statements.is_empty() {
        return raw("it has no statement".into());
    }
    let mut entries = Vec::new();
    let mut typed = Vec::new();
    for (i, st) in doc.statements.iter().enumerate() {
        match entry(st, names) {
            Ok((out, entry)) => {
                if !statements_equivalent(&entry.statement(), st) {
                    return raw(format!(
                        "statement {i} has {}",
                        what_differs(&entry.statement(), st)
                    ));
                }
                entries.push(out);
                typed.push(entry);
            }
            Err(why) => return raw(format!("statement {i} has {why}")),
        }
    }
    if !equivalent(&trust_document(&typed), doc) {
        // Typed entries write 2012-10-17, which differs from 2008-10-17 only with `${`.
        return raw(match (effective_version(doc), doc.version.as_deref()) {
            ("2012-10-17", _) => "its statements are repeated".into(),
            (_, Some(v)) => format!("its `Version` is `{v}`, which reads `${{…}}` as text"),
            (_, None) => "it has no `Version`, so `${…}` in it is text".into(),
        });
    }
    TrustOut::Typed(entries)
}

/// Names the first thing in which `live` differs from what the entry writes.
fn what_differs(want: &Statement, live: &Statement) -> String {
    let lower = |l: &Option<Vec<String>>| {
        l.as_ref().map(|l| {
            let mut v: Vec<String> = l.iter().map(|a| a.to_ascii_lowercase()).collect();
            v.sort();
            v
        })
    };
    if lower(&want.action) != lower(&live.action) || live.not_action.is_some() {
        let actions = live
            .action
            .as_ref()
            .or(live.not_action.as_ref())
            .map(|a| a.join("`, `"))
            .unwrap_or_default();
        return format!("the actions `{actions}`");
    }
    let ops: Vec<&str> = live
        .condition
        .iter()
        .flatten()
        .map(|(op, _)| op.as_str())
        .collect();
    format!("a condition (`{}`)", ops.join("`, `"))
}

/// The typed entry a statement can only be, with the resolved entry to check it against.
fn entry(st: &Statement, names: &TrustNames<'_>) -> Result<(TrustEntryOut, TrustEntry), String> {
    if let Some(sid) = st.sid() {
        return Err(format!("a Sid (`{sid}`)"));
    }
    if st.effect != Effect::Allow {
        return Err("`Effect: Deny`".into());
    }
    if st.not_principal.is_some() {
        return Err("a `NotPrincipal`".into());
    }
    if st.resource.is_some() || st.not_resource.is_some() {
        return Err("a `Resource`".into());
    }
    let principal = st
        .principal
        .as_ref()
        .map(canonical_principal)
        .ok_or_else(|| "no `Principal`".to_string())?;
    let single = (principal.len() == 1)
        .then(|| principal.iter().next())
        .flatten()
        .filter(|(_, v)| v.len() == 1)
        .map(|(k, v)| (k.as_str(), v.iter().next().expect("one value").as_str()));
    let Some((kind, value)) = single else {
        return Err("several principals".into());
    };
    match kind {
        "Service" if value == POD_IDENTITY_SERVICE && st.condition.is_some() => {
            pod_identity(st, names)
        }
        "Service" => Ok((
            TrustEntryOut::Service(value.to_string()),
            TrustEntry::Service(value.to_string()),
        )),
        "AWS" => {
            let external_id = external_id(st)?;
            let resolved = TrustEntry::Aws {
                arn: value.to_string(),
                external_id: external_id.clone(),
            };
            let out = match parse_iam_arn(value) {
                Some((id, kind, _)) if kind == "root" => TrustEntryOut::Account {
                    account: names.accounts.get(&id).cloned().unwrap_or(id),
                    external_id,
                },
                Some(_) => match names.roles.get(value) {
                    Some(key) => TrustEntryOut::Role {
                        key: key.clone(),
                        external_id,
                    },
                    None => TrustEntryOut::Arn {
                        arn: value.to_string(),
                        external_id,
                    },
                },
                None if value == "*" => return Err("the principal `*`".into()),
                None => return Err(format!("the principal `{value}`, not an IAM ARN")),
            };
            Ok((out, resolved))
        }
        "Federated" => {
            let (account, provider) = parse_oidc_provider_arn(value)
                .ok_or_else(|| format!("the federated principal `{value}`"))?;
            if account != names.role_account {
                return Err(format!(
                    "an OIDC provider in account {account}, not the role's"
                ));
            }
            let sub = condition_value(st, &format!("{provider}:sub"))
                .ok_or_else(|| "no `StringEquals` on `:sub`".to_string())?;
            let (namespace, service_account) = sub
                .strip_prefix("system:serviceaccount:")
                .and_then(|r| r.split_once(':'))
                .filter(|(ns, sa)| !ns.is_empty() && !sa.is_empty() && !sa.contains(':'))
                .ok_or_else(|| format!("a `:sub` (`{sub}`) that is not one service account"))?;
            let resolved = TrustEntry::Eks {
                provider_arn: value.to_string(),
                provider: provider.to_string(),
                namespace: namespace.to_string(),
                service_account: service_account.to_string(),
            };
            let out = TrustEntryOut::Eks {
                provider: provider.to_string(),
                namespace: namespace.to_string(),
                service_account: service_account.to_string(),
            };
            Ok((out, resolved))
        }
        other => Err(format!("a `{other}` principal")),
    }
}

/// An EKS Pod Identity statement: its four `StringEquals` conditions name the cluster (by
/// ARN), the namespace, the service account and the source account.
fn pod_identity(
    st: &Statement,
    names: &TrustNames<'_>,
) -> Result<(TrustEntryOut, TrustEntry), String> {
    let get = |key: &str| {
        condition_value(st, key)
            .ok_or_else(|| format!("a Pod Identity statement without `StringEquals` on `{key}`"))
    };
    let cluster_arn = get("aws:RequestTag/eks-cluster-arn")?;
    let namespace = get("aws:RequestTag/kubernetes-namespace")?;
    let service_account = get("aws:RequestTag/kubernetes-service-account")?;
    let source = get("aws:SourceAccount")?;
    let (region, account, cluster) = cluster_arn
        .strip_prefix("arn:aws:eks:")
        .and_then(|r| r.split_once(':'))
        .and_then(|(region, r)| {
            let (account, cluster) = r.split_once(":cluster/")?;
            Some((region.to_string(), account.to_string(), cluster.to_string()))
        })
        .ok_or_else(|| format!("a cluster ARN `{cluster_arn}` s3ward does not read"))?;
    if account != source {
        return Err(format!(
            "a cluster in account {account} but `aws:SourceAccount` {source}"
        ));
    }
    let resolved = TrustEntry::PodIdentity {
        cluster_arn: eks_cluster_arn(&region, &account, &cluster),
        account_id: account.clone(),
        namespace: namespace.clone(),
        service_account: service_account.clone(),
    };
    let out = TrustEntryOut::PodIdentity {
        cluster,
        namespace,
        service_account,
        region,
        account: (account != names.role_account)
            .then(|| names.accounts.get(&account).cloned().unwrap_or(account)),
    };
    Ok((out, resolved))
}

/// The one value of a `StringEquals` condition key (key names compare without case).
fn condition_value(st: &Statement, key: &str) -> Option<String> {
    let values = st
        .condition
        .as_ref()?
        .get("StringEquals")?
        .iter()
        .find_map(|(k, v)| k.eq_ignore_ascii_case(key).then_some(v))?;
    match values.as_slice() {
        [v] => v.as_str().map(str::to_string),
        _ => None,
    }
}

/// The `sts:ExternalId` an entry would write, when that is the only condition.
fn external_id(st: &Statement) -> Result<Option<String>, String> {
    match &st.condition {
        None => Ok(None),
        Some(c) if c.values().all(BTreeMap::is_empty) => Ok(None),
        Some(_) => condition_value(st, "sts:ExternalId")
            .map(Some)
            .ok_or_else(|| "a condition other than one `sts:ExternalId`".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(roles: &BTreeMap<String, String>) -> TrustNames<'_> {
        static ACCOUNTS: std::sync::LazyLock<BTreeMap<String, String>> =
            std::sync::LazyLock::new(|| {
                BTreeMap::from([("111111111111".to_string(), "main".to_string())])
            });
        TrustNames {
            role_account: "111111111111",
            accounts: &ACCOUNTS,
            roles,
        }
    }

    fn out(json: &str) -> TrustOut {
        let roles = BTreeMap::from([(
            "arn:aws:iam::111111111111:role/other".to_string(),
            "other".to_string(),
        )]);
        trust_out(&PolicyDocument::parse(json).unwrap(), &names(&roles))
    }

    #[test]
    fn typed_entries_when_they_fit() {
        let t = out(r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"},
            {"Sid":"","Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"sts:AssumeRole"},
            {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"}}},
            {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/other"},"Action":"sts:AssumeRole"},
            {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::333333333333:user/u"},"Action":"sts:AssumeRole"},
            {"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"},
             "Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{
               "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub":"system:serviceaccount:ml:inference",
               "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud":"sts.amazonaws.com"}}}]}"#);
        let TrustOut::Typed(entries) = t else {
            panic!("raw: {t:?}")
        };
        assert_eq!(
            entries,
            vec![
                TrustEntryOut::Service("ec2.amazonaws.com".into()),
                TrustEntryOut::Account {
                    account: "main".into(),
                    external_id: None
                },
                TrustEntryOut::Account {
                    account: "222222222222".into(),
                    external_id: Some("x".into())
                },
                TrustEntryOut::Role {
                    key: "other".into(),
                    external_id: None
                },
                TrustEntryOut::Arn {
                    arn: "arn:aws:iam::333333333333:user/u".into(),
                    external_id: None
                },
                TrustEntryOut::Eks {
                    provider: "oidc.eks.us-east-1.amazonaws.com/id/ABC".into(),
                    namespace: "ml".into(),
                    service_account: "inference".into()
                },
            ]
        );
    }

    #[test]
    fn raw_with_a_reason_otherwise() {
        let reason = |json: &str| match out(json) {
            TrustOut::Raw { reason, .. } => reason,
            t => panic!("typed: {t:?}"),
        };
        let svc = r#"{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}"#;
        // 2008-10-17 differs from what typed entries write (2012-10-17) only with `${`.
        let with_variable = r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"${aws:username}"}}}"#;
        assert_eq!(
            reason(&format!(
                r#"{{"Version":"2008-10-17","Statement":[{with_variable}]}}"#
            )),
            "its `Version` is `2008-10-17`, which reads `${…}` as text"
        );
        assert!(
            matches!(
                out(&format!(
                    r#"{{"Version":"2008-10-17","Statement":[{svc}]}}"#
                )),
                TrustOut::Typed(_)
            ),
            "without `${{`, 2008-10-17 is what typed entries write"
        );
        assert_eq!(
            reason(
                r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Principal":{"Service":"x.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
            ),
            "statement 0 has a Sid (`A`)"
        );
        assert_eq!(
            reason(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}"#
            ),
            "statement 0 has the actions `sts:AssumeRole`, `sts:TagSession`"
        );
        assert_eq!(
            reason(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["a.amazonaws.com","b.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#
            ),
            "statement 0 has several principals"
        );
        let r = reason(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:oidc-provider/p"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"p:sub":"system:serviceaccount:*:x*"}}}]}"#,
        );
        assert_eq!(r, "statement 0 has no `StringEquals` on `:sub`");
        // EKS without `:aud`: the entry would add it.
        let r = reason(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:oidc-provider/p"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"p:sub":"system:serviceaccount:ml:x"}}}]}"#,
        );
        assert_eq!(r, "statement 0 has a condition (`StringEquals`)");
        let r = reason(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:PrincipalArn":"x"}}}]}"#,
        );
        assert_eq!(
            r,
            "statement 0 has a condition other than one `sts:ExternalId`"
        );
    }
}
