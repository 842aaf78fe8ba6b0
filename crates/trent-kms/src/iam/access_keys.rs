//! Long-term access keys of users and of the account's root user.

use trent_store::StoreError;
use trent_store::iam::{AccessKeyKind, AccessKeyRecord};

use super::action::QueryAction;
use super::ids;
use super::query::{check_name, iso8601, same_name};
use super::render::not_truncated;
use super::request::Request;
use super::wire::{IamError, IamResult, Xml};
use crate::identity::PrincipalKind;

/// AWS's quota of access keys per user.
const KEYS_PER_USER: usize = 2;

/// `CreateAccessKey`, `ListAccessKeys`, `DeleteAccessKey`. Without `UserName`: the caller's own
/// keys (a user's, or the root user's).
pub(super) fn handle(r: &Request<'_>) -> IamResult<Vec<Xml>> {
    let user = match r.params.get("UserName") {
        Some(name) => {
            check_name(name, "userName", 128)?;
            r.authorize(r.entity_arn_of(trent_store::iam::OwnerKind::User, name))?;
            Some(r.find_user(name)?)
        }
        None => match &r.call.principal.kind {
            PrincipalKind::Root => {
                r.authorize(r.call.arn())?;
                None
            }
            PrincipalKind::User { name, .. } => {
                r.authorize(r.call.arn())?;
                Some(r.find_user(name)?)
            }
            PrincipalKind::AssumedRole { .. } => {
                return Err(IamError::validation(
                    "Must specify userName when calling with non-User credentials",
                ));
            }
        },
    };
    let owner_name = user.as_ref().map(|u| u.name.clone()).unwrap_or_default();
    let kind = if user.is_some() {
        AccessKeyKind::User
    } else {
        AccessKeyKind::Root
    };
    let keys: Vec<_> = r
        .stored()
        .access_keys
        .iter()
        .filter(|k| {
            k.account == r.account && k.kind == kind && same_name(&k.owner_name, &owner_name)
        })
        .collect();
    let metadata = |id: &str, created: i64, active: bool| {
        let mut v = Vec::new();
        if !owner_name.is_empty() {
            v.push(Xml::text("UserName", &owner_name));
        }
        v.push(Xml::text("AccessKeyId", id));
        v.push(Xml::text(
            "Status",
            if active { "Active" } else { "Inactive" },
        ));
        v.push(Xml::text("CreateDate", iso8601(created)));
        v
    };
    match r.action {
        QueryAction::ListAccessKeys => {
            let list = keys
                .iter()
                .map(|k| metadata(&k.access_key_id, k.created_ms, k.active))
                .collect();
            let mut out = vec![Xml::list("AccessKeyMetadata", list), not_truncated()];
            if !owner_name.is_empty() {
                out.push(Xml::text("UserName", &owner_name));
            }
            Ok(out)
        }
        QueryAction::CreateAccessKey => {
            if keys.len() >= KEYS_PER_USER {
                return Err(IamError::limit_exceeded(format!(
                    "Cannot exceed quota for AccessKeysPerUser: {KEYS_PER_USER}"
                )));
            }
            let id = ids::access_key_id("AKIA")?;
            let secret = ids::secret_access_key()?;
            r.kms.store.create_iam_access_key(&AccessKeyRecord {
                access_key_id: id.clone(),
                account: r.account.clone(),
                kind,
                owner_name: owner_name.clone(),
                session_name: None,
                via_service: None,
                acts_for: None,
                secret: r.kms.seal_secret(&id, &secret)?,
                active: true,
                created_ms: r.now,
            })?;
            r.changed()?;
            let mut v = metadata(&id, r.now, true);
            v.insert(v.len() - 1, Xml::text("SecretAccessKey", secret));
            Ok(vec![Xml::Node("AccessKey", v)])
        }
        _ => {
            let id = r.params.require("AccessKeyId", "accessKeyId")?;
            match r
                .kms
                .store
                .delete_iam_access_key(&r.account, &owner_name, id)
            {
                Err(StoreError::NotFound) => {
                    return Err(IamError::no_such_entity(format!(
                        "The Access Key with id {id} cannot be found."
                    )));
                }
                other => other?,
            }
            r.changed()?;
            Ok(vec![])
        }
    }
}
