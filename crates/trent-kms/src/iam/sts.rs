//! STS: `GetCallerIdentity` and `AssumeRole` (temporary credentials for a role session).

use trent_policy::PolicyKind;
use trent_store::iam::SessionRecord;

use super::action::QueryAction;
use super::ids;
use super::query::{is_name_char, iso8601, parse_document};
use super::request::Request;
use super::wire::{IamError, IamResult, Xml};
use crate::authz::Check;
use crate::identity::PrincipalKind;

/// Who the caller is; AWS requires no permission for it.
pub(super) fn get_caller_identity(r: &Request<'_>) -> Vec<Xml> {
    vec![
        Xml::text("UserId", &r.call.principal.unique_id),
        Xml::text("Account", r.call.account()),
        Xml::text("Arn", r.call.arn()),
    ]
}

pub(super) fn assume_role(r: &Request<'_>) -> IamResult<Vec<Xml>> {
    let (params, caller) = (r.params, r.call);
    let role_arn = params.require("RoleArn", "roleArn")?;
    if role_arn.len() < 20 || role_arn.len() > 2048 {
        return Err(IamError::constraint(
            role_arn,
            "roleArn",
            "Member must have length greater than or equal to 20",
        ));
    }
    let session_name = params.require("RoleSessionName", "roleSessionName")?;
    if session_name.len() < 2 || session_name.len() > 64 {
        return Err(IamError::constraint(
            session_name,
            "roleSessionName",
            "Member must have length between 2 and 64",
        ));
    }
    if !session_name.chars().all(is_name_char) {
        return Err(IamError::constraint(
            session_name,
            "roleSessionName",
            "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        ));
    }
    let duration: i64 = match params.get("DurationSeconds") {
        None => 3600,
        Some(d) => d
            .parse()
            .map_err(|_| IamError::constraint(d, "durationSeconds", "Member must be a number"))?,
    };
    if !(900..=43200).contains(&duration) {
        return Err(IamError::constraint(
            &duration.to_string(),
            "durationSeconds",
            if duration < 900 {
                "Member must have value greater than or equal to 900"
            } else {
                "Member must have value less than or equal to 43200"
            },
        ));
    }
    let external_id = params.get("ExternalId");
    if let Some(e) = external_id
        && (e.len() < 2 || e.len() > 1224)
    {
        return Err(IamError::constraint(
            e,
            "externalId",
            "Member must have length between 2 and 1224",
        ));
    }
    let tags = params.tags()?;
    let session_policy = params.get("Policy").map(str::to_string);
    if let Some(doc) = &session_policy {
        parse_document(doc, PolicyKind::IdentityPolicy)?;
    }
    let policy_arns: Vec<String> = params
        .members("PolicyArns", &["arn"])
        .into_iter()
        .filter_map(|mut r| r.pop().flatten())
        .collect();
    // AWS refuses an account's root user before looking at the role.
    if caller.principal.kind == PrincipalKind::Root {
        return Err(IamError::access_denied(
            "Roles may not be assumed by root accounts.",
        ));
    }
    let dir = &r.dir;
    let denied_for = |action: &str| {
        IamError::access_denied(format!(
            "User: {} is not authorized to perform: {action} on resource: {role_arn}",
            caller.arn()
        ))
    };
    let denied = || denied_for("sts:AssumeRole");
    // A role that does not exist is refused like one that does not trust the caller.
    let role = dir
        .stored()
        .roles
        .iter()
        .find(|r| super::role_arn(&r.account, &r.path, &r.name) == role_arn)
        .cloned()
        .ok_or_else(denied)?;
    for arn in &policy_arns {
        if !dir.stored().policies.iter().any(|p| &p.arn() == arn) {
            return Err(IamError::validation(format!(
                "Policy {arn} does not exist or is not attachable."
            )));
        }
    }
    let chained = matches!(caller.principal.kind, PrincipalKind::AssumedRole { .. });
    if chained && duration > 3600 {
        return Err(IamError::validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles \
             assumed by role chaining.",
        ));
    }
    if duration > role.max_session_duration {
        return Err(IamError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    let trust = role
        .trust_policy
        .as_deref()
        .map(|d| parse_document(d, PolicyKind::TrustPolicy))
        .transpose()
        .map_err(|_| denied())?
        .ok_or_else(denied)?;
    let mut actions = vec![QueryAction::AssumeRole.policy_action()];
    if !tags.is_empty() {
        actions.push(QueryAction::TAG_SESSION);
    }
    for action in actions {
        let mut check = Check::role(action, role_arn, &role.account, &trust)
            .with("sts:RoleSessionName", session_name);
        if let Some(e) = external_id {
            check = check.with("sts:ExternalId", e);
        }
        for (k, v) in &tags {
            check = check.with(format!("aws:RequestTag/{k}"), v.as_str());
        }
        if !tags.is_empty() {
            check = check.with(
                "aws:TagKeys",
                tags.iter().map(|(k, _)| k.clone()).collect::<Vec<String>>(),
            );
        }
        // AWS's AssumeRole denial says no more than this, whatever the reason.
        r.authorize_check(check).map_err(|e| match e.code {
            "AccessDenied" => denied_for(action),
            _ => e,
        })?;
    }
    // Issue the credentials.
    let now = r.kms.now_ms();
    let access_key_id = ids::access_key_id("ASIA")?;
    let secret = ids::secret_access_key()?;
    let token = ids::session_token()?;
    let sealed = r
        .kms
        .seal_secret(&access_key_id, &format!("{secret}\n{token}"))?;
    let expires_ms = now + duration * 1000;
    r.kms.store.create_session(&SessionRecord {
        access_key_id: access_key_id.clone(),
        secret: sealed,
        account: role.account.clone(),
        role_name: role.name.clone(),
        role_unique_id: role.unique_id.clone(),
        session_name: session_name.to_string(),
        created_ms: now,
        expires_ms,
        tags: tags.clone(),
        session_policy,
        policy_arns,
        source_arn: caller.arn().to_string(),
    })?;
    r.changed()?;
    let principal = super::session_principal(&role, session_name, &tags);
    Ok(vec![
        Xml::Node(
            "Credentials",
            vec![
                Xml::text("AccessKeyId", access_key_id),
                Xml::text("SecretAccessKey", secret),
                Xml::text("SessionToken", token),
                Xml::text("Expiration", iso8601(expires_ms)),
            ],
        ),
        Xml::Node(
            "AssumedRoleUser",
            vec![
                Xml::text("AssumedRoleId", principal.unique_id),
                Xml::text("Arn", principal.arn),
            ],
        ),
    ])
}
