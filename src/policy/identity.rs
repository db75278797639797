//! Who applies: the identity s3ward runs as in one account, as STS names it, and every form
//! under which a policy may name it (the account, the user, the role with or without its
//! path, the session). The self-lockout evaluation ([`super::lockout`]) matches policies
//! against these forms; `rules` asks whether a role is the one s3ward runs as.
//!
//! Plain data: built from STS's answer by `live::sts` (or, offline, from the account id
//! alone); nothing here calls AWS or reads a policy.

/// Who applies: the account always (s3ward acts in the bucket's account), the ARNs when known
/// (at plan time, from STS).
#[derive(Clone, Debug, Default)]
pub struct Identity {
    pub account: String,
    /// `arn:aws:sts::ACCT:assumed-role/NAME/SESSION`, `arn:aws:iam::ACCT:user/PATH/NAME` or
    /// `arn:aws:iam::ACCT:root`.
    pub arn: Option<String>,
    /// For an assumed role, `arn:aws:iam::ACCT:role/PATH/NAME`: its path is known only when
    /// `role_path_known` (from the plan file's `assume_role`); STS answers without it.
    pub role_arn: Option<String>,
    pub role_path_known: bool,
    /// The ambient caller's ARN, when this identity was assumed from it: s3ward runs as that
    /// one too (it needs it to assume this one).
    pub via: Option<String>,
}

/// One form under which a policy may name the identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Subject {
    Exact(String),
    /// `arn:aws:iam::ACCOUNT:role/…/NAME` with a path that is not known.
    RoleAnyPath {
        account: String,
        name: String,
    },
}

/// The role name of an assumed-role session ARN in `account` (any account when `None`).
fn session_role(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:sts::")?;
    let (account, rest) = rest.split_once(':')?;
    let name = rest.strip_prefix("assumed-role/")?.split('/').next()?;
    Some((account, name))
}

impl Identity {
    pub fn from_caller_arn(account: &str, arn: &str) -> Identity {
        let role_arn = session_role(arn)
            .filter(|(a, _)| *a == account)
            .map(|(_, name)| format!("arn:aws:iam::{account}:role/{name}"));
        Identity {
            account: account.to_string(),
            arn: Some(arn.to_string()),
            role_arn,
            role_path_known: false,
            via: None,
        }
    }

    /// Learns the role's ARN with its path (the `assume_role` of the plan file), when it is
    /// the role of this session.
    pub fn with_role_arn(mut self, role_arn: &str) -> Identity {
        let same = role_arn.strip_prefix("arn:aws:iam::").is_some_and(|rest| {
            rest.split_once(':').is_some_and(|(a, r)| {
                a == self.account
                    && r.starts_with("role/")
                    && r.rsplit('/').next() == self.role_name()
            })
        });
        if same {
            self.role_arn = Some(role_arn.to_string());
            self.role_path_known = true;
        }
        self
    }

    /// The ambient caller this identity was assumed from.
    pub fn with_via(mut self, ambient_arn: &str) -> Identity {
        if self.arn.as_deref() != Some(ambient_arn) {
            self.via = Some(ambient_arn.to_string());
        }
        self
    }

    /// The name of the role of this assumed-role session.
    pub fn role_name(&self) -> Option<&str> {
        self.arn
            .as_deref()
            .and_then(session_role)
            .map(|(_, name)| name)
    }

    /// Whether s3ward runs as the role `name` of account `account_id` (this session's role,
    /// or the ambient caller's that assumed it).
    pub fn runs_as_role(&self, account_id: &str, name: &str) -> bool {
        let mine = self.account == account_id && self.role_name() == Some(name);
        let via = self
            .via
            .as_deref()
            .and_then(session_role)
            .is_some_and(|(a, n)| a == account_id && n == name);
        mine || via
    }

    pub(super) fn root(&self) -> String {
        format!("arn:aws:iam::{}:root", self.account)
    }

    fn role_subject(&self) -> Option<Subject> {
        let arn = self.role_arn.as_ref()?;
        if self.role_path_known {
            Some(Subject::Exact(arn.clone()))
        } else {
            Some(Subject::RoleAnyPath {
                account: self.account.clone(),
                name: self.role_name()?.to_string(),
            })
        }
    }

    /// The value of `aws:PrincipalArn` in s3ward's requests: for an assumed role, the role's
    /// ARN (with its path), never the session's.
    pub(super) fn principal_arn(&self) -> Option<Subject> {
        let arn = self.arn.as_ref()?;
        self.role_subject().or(Some(Subject::Exact(arn.clone())))
    }

    /// Every form a `Principal` may name the caller by: the account; the user; or the role
    /// and the session.
    pub(super) fn representations(&self) -> Vec<Subject> {
        let mut out = vec![Subject::Exact(self.root())];
        if let Some(arn) = &self.arn
            && *arn != self.root()
        {
            out.extend(self.role_subject());
            out.push(Subject::Exact(arn.clone()));
        }
        out
    }

    /// `aws:PrincipalType`.
    pub(super) fn principal_type(&self) -> Option<&'static str> {
        let arn = self.arn.as_deref()?;
        Some(if session_role(arn).is_some() {
            "AssumedRole"
        } else if arn.ends_with(":root") {
            "Account"
        } else {
            "User"
        })
    }
}
