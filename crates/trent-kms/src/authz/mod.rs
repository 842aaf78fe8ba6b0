//! The authorization step. Every operation declares the (action, resource) checks it needs and
//! calls [`Kms::authorize`] before doing anything observable. Each check is decided by
//! [`decide::decide`] from the key policy, the caller's identity policies and (later) grants.

pub mod context;
pub mod decide;
pub mod grants;
mod policy_cache;

use trent_policy::{ContextValue, Policy, PolicyError};
use trent_store::KeyRecord;

use crate::error::{ErrorCode, KmsError};
pub use decide::{Decision, Outcome};
pub use grants::GrantConstraints;
pub use policy_cache::PolicyCache;

/// How denials are enforced (`trent serve --authz`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthzMode {
    /// Denials are returned to the client.
    #[default]
    Enforce,
    /// Decisions are made and recorded, but denials are not enforced; the response says which
    /// decision was overridden.
    Audit,
    /// No authorization at all (authentication still applies).
    Off,
}

/// What an action is checked against.
pub enum Resource<'a> {
    Key(&'a KeyRecord),
    /// An ARN decided by the caller's IAM policies alone: an alias (alias operations check the
    /// alias and the key), or the IAM half of RetireGrant.
    Arn(String),
    /// Resource-less actions such as `kms:CreateKey` and `kms:ListKeys` (IAM only).
    None,
    /// An IAM role, for `sts:AssumeRole` and `sts:TagSession`: its trust policy is the root of
    /// trust, as a key policy is for a key.
    Role {
        arn: &'a str,
        account: &'a str,
        trust_policy: &'a Policy,
    },
}

/// One (action, resource) pair an operation needs, with the condition keys the request itself
/// contributes (encryption context, request tags, parameters).
pub struct Check<'a> {
    pub action: &'static str,
    pub resource: Resource<'a>,
    pub context: Vec<(String, ContextValue)>,
    /// The encryption context grants' constraints are checked against (for CreateGrant, the
    /// new grant's constraint context).
    pub grant_context: Option<trent_crypto::EncryptionContext>,
    /// For CreateGrant: the grant being created, which a parent grant must cover (§5.3).
    pub child_grant: Option<ChildGrant>,
}

/// What a CreateGrant request asks for, as a parent grant must cover it.
#[derive(Debug, Clone)]
pub struct ChildGrant {
    pub operations: Vec<String>,
    pub constraints: GrantConstraints,
}

impl<'a> Check<'a> {
    pub fn key(action: &'static str, key: &'a KeyRecord) -> Self {
        Check {
            action,
            resource: Resource::Key(key),
            context: Vec::new(),
            grant_context: None,
            child_grant: None,
        }
    }

    /// An action on an ARN that the caller's identity policies alone decide: an alias, an IAM
    /// user, role or policy.
    pub fn arn(action: &'static str, arn: impl Into<String>) -> Self {
        Check {
            action,
            resource: Resource::Arn(arn.into()),
            context: Vec::new(),
            grant_context: None,
            child_grant: None,
        }
    }

    /// Assuming (or tagging a session of) a role: its trust policy and the caller's identity
    /// policies decide.
    pub fn role(
        action: &'static str,
        arn: &'a str,
        account: &'a str,
        trust_policy: &'a Policy,
    ) -> Self {
        Check {
            action,
            resource: Resource::Role {
                arn,
                account,
                trust_policy,
            },
            context: Vec::new(),
            grant_context: None,
            child_grant: None,
        }
    }

    pub fn account(action: &'static str) -> Self {
        Check {
            action,
            resource: Resource::None,
            context: Vec::new(),
            grant_context: None,
            child_grant: None,
        }
    }

    pub fn with(mut self, key: impl Into<String>, value: impl Into<ContextValue>) -> Self {
        self.context.push((key.into(), value.into()));
        self
    }

    pub fn with_all(mut self, pairs: impl IntoIterator<Item = (String, ContextValue)>) -> Self {
        self.context.extend(pairs);
        self
    }

    pub fn with_grant_context(mut self, ec: &trent_crypto::EncryptionContext) -> Self {
        self.grant_context = Some(ec.clone());
        self
    }

    pub fn with_child_grant(mut self, child: ChildGrant) -> Self {
        self.child_grant = Some(child);
        self
    }
}

/// Why a grant naming `grantee` (recorded with unique ID `recorded`) does not name `caller`
/// although the ARNs match: the user or role was deleted and recreated with the same name, so
/// its unique ID changed (as in AWS, the grant names the old principal). `None` when it names
/// the caller, or when no unique ID was recorded.
pub fn recreated_grantee(
    grantee: Option<&str>,
    recorded: Option<&str>,
    caller: &crate::identity::Principal,
) -> Option<String> {
    let recorded = recorded?;
    let current = caller.identity_unique_id()?;
    (current != recorded).then(|| {
        format!(
            "the grantee {} was deleted and recreated: the grant names the principal with unique \
             ID {recorded}, not the current one ({current})",
            grantee.unwrap_or_default()
        )
    })
}

/// Maps a key-policy parse error to the error KMS returns for it.
pub fn policy_error(e: &PolicyError) -> KmsError {
    if e.is_limit_exceeded() {
        return KmsError::new(ErrorCode::LimitExceeded, e.to_string());
    }
    KmsError::new(ErrorCode::MalformedPolicyDocument, e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::identity::{Principal, PrincipalKind};

    fn session(role_id: &str) -> Principal {
        Principal {
            account: "111122223333".into(),
            arn: "arn:aws:sts::111122223333:assumed-role/app/s".into(),
            kind: PrincipalKind::AssumedRole {
                role_arn: "arn:aws:iam::111122223333:role/app".into(),
                role_name: "app".into(),
                session_name: "s".into(),
            },
            unique_id: format!("{role_id}:s"),
            tags: Default::default(),
        }
    }

    #[test]
    fn a_grant_names_the_role_it_recorded_not_a_recreated_one() {
        let arn = Some("arn:aws:iam::111122223333:role/app");
        assert_eq!(
            recreated_grantee(arn, Some("AROAOLD"), &session("AROAOLD")),
            None
        );
        // Grants created before unique IDs were recorded match by ARN.
        assert_eq!(recreated_grantee(arn, None, &session("AROANEW")), None);
        let why = recreated_grantee(arn, Some("AROAOLD"), &session("AROANEW")).unwrap();
        assert!(why.contains("was deleted and recreated"), "{why}");
        // An account root has no user or role unique ID: account grants are not affected.
        assert_eq!(
            recreated_grantee(arn, Some("AROAOLD"), &Principal::root("111122223333")),
            None
        );
    }

    #[test]
    fn the_directory_finds_a_session_arns_role_unique_id() {
        let mut d = crate::identity::Directory::new();
        d.set_unique_id("arn:aws:iam::111122223333:role/svc/app", "AROAAPP");
        d.set_unique_id("arn:aws:iam::111122223333:user/carol", "AIDACAROL");
        assert_eq!(
            d.unique_id_for_principal_arn("arn:aws:sts::111122223333:assumed-role/app/s"),
            Some("AROAAPP")
        );
        assert_eq!(
            d.unique_id_for_principal_arn("arn:aws:iam::111122223333:user/carol"),
            Some("AIDACAROL")
        );
        assert_eq!(
            d.unique_id_for_principal_arn("arn:aws:iam::111122223333:role/other"),
            None
        );
        assert_eq!(session("AROAAPP").identity_unique_id(), Some("AROAAPP"));
    }
}
