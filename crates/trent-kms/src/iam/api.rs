//! The STS and IAM operations (AWS query protocol: `Action=…` form parameters in, a result tree
//! out). IAM is global and per account: every operation acts in the caller's account.

use std::collections::BTreeMap;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use trent_policy::{Policy, PolicyEvaluation, PolicyKind, PrincipalMatch, RequestContext};
use trent_store::StoreError;
use trent_store::iam::{
    AccessKeyKind, AccessKeyRecord, AttachmentRecord, InlinePolicyRecord, ManagedPolicyRecord,
    OwnerKind, PolicyVersionRecord, RoleRecord, SessionRecord, UserRecord,
};

use super::ids;
use super::wire::{IamError, IamResult, Xml};
use crate::authz::context;
use crate::identity::{Caller, Directory, NamedPolicy, PrincipalKind};
use crate::service::Kms;

pub const STS_VERSION: &str = "2011-06-15";
pub const IAM_VERSION: &str = "2010-05-08";

/// Which query-protocol service a request is for (from its SigV4 credential scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryService {
    Sts,
    Iam,
}

impl QueryService {
    pub fn version(self) -> &'static str {
        match self {
            QueryService::Sts => STS_VERSION,
            QueryService::Iam => IAM_VERSION,
        }
    }

    pub fn event_source(self) -> &'static str {
        match self {
            QueryService::Sts => "sts.amazonaws.com",
            QueryService::Iam => "iam.amazonaws.com",
        }
    }
}

/// The form parameters of one request.
#[derive(Debug, Default, Clone)]
pub struct Params(pub BTreeMap<String, String>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A required member; `member` is its name in AWS's messages (`userName`).
    fn require(&self, name: &str, member: &str) -> IamResult<&str> {
        self.get(name).ok_or_else(|| IamError::missing(member))
    }

    /// `Prefix.member.N.field` for N = 1, 2, … until one is missing.
    fn members(&self, prefix: &str, fields: &[&str]) -> Vec<Vec<Option<String>>> {
        let mut out = Vec::new();
        for n in 1.. {
            let row: Vec<Option<String>> = fields
                .iter()
                .map(|f| {
                    self.get(&format!("{prefix}.member.{n}.{f}"))
                        .map(str::to_string)
                })
                .collect();
            if row.iter().all(Option::is_none) {
                break;
            }
            out.push(row);
        }
        out
    }

    fn tags(&self) -> IamResult<Vec<(String, String)>> {
        let mut tags = Vec::new();
        for row in self.members("Tags", &["Key", "Value"]) {
            let key = row[0]
                .clone()
                .ok_or_else(|| IamError::missing("tags.member.key"))?;
            let value = row[1].clone().unwrap_or_default();
            if key.is_empty() || key.chars().count() > 128 {
                return Err(IamError::constraint(
                    &key,
                    "tags.member.key",
                    "Member must have length between 1 and 128",
                ));
            }
            if value.chars().count() > 256 {
                return Err(IamError::constraint(
                    &value,
                    "tags.member.value",
                    "Member must have length less than or equal to 256",
                ));
            }
            tags.push((key, value));
        }
        if tags.len() > 50 {
            return Err(IamError::validation(
                "1 validation error detected: Value at 'tags' failed to satisfy constraint: \
                 Member must have length less than or equal to 50",
            ));
        }
        Ok(tags)
    }
}

/// What URL-encoding leaves alone in policy documents (RFC 3986 unreserved characters).
const URL_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Policy documents travel URL-encoded in IAM responses, as AWS sends them.
fn url_encode(s: &str) -> String {
    utf8_percent_encode(s, URL_ENCODE).to_string()
}

pub fn iso8601(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.format(&f).unwrap_or_default()
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

fn check_name(value: &str, member: &str, max: usize) -> IamResult<()> {
    if value.is_empty() || value.chars().count() > max {
        return Err(IamError::constraint(
            value,
            member,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    if !value.chars().all(is_name_char) {
        return Err(IamError::constraint(
            value,
            member,
            "Member must satisfy regular expression pattern: [\\w+=,.@-]+",
        ));
    }
    Ok(())
}

fn check_path(value: &str, member: &str) -> IamResult<()> {
    let ok = value == "/"
        || (value.len() >= 2
            && value.len() <= 512
            && value.starts_with('/')
            && value.ends_with('/')
            && value.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    if ok {
        Ok(())
    } else {
        Err(IamError::constraint(
            value,
            member,
            "Member must satisfy regular expression pattern: \
             (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)",
        ))
    }
}

fn parse_document(document: &str, kind: PolicyKind) -> IamResult<Policy> {
    Policy::parse(document, kind).map_err(|e| IamError::malformed_policy(e.to_string()))
}

fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn tags_xml(tags: &[(String, String)]) -> Xml {
    Xml::list(
        "Tags",
        tags.iter()
            .map(|(k, v)| vec![Xml::text("Key", k), Xml::text("Value", v)])
            .collect(),
    )
}

fn merge_tags(existing: &[(String, String)], new: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = existing.to_vec();
    for (k, v) in new {
        match out.iter_mut().find(|(ek, _)| ek == k) {
            Some(slot) => slot.1 = v.clone(),
            None => out.push((k.clone(), v.clone())),
        }
    }
    out
}

fn user_xml(u: &UserRecord) -> Vec<Xml> {
    let mut v = vec![
        Xml::text("Path", &u.path),
        Xml::text("UserName", &u.name),
        Xml::text("UserId", &u.unique_id),
        Xml::text("Arn", super::user_arn(&u.account, &u.path, &u.name)),
        Xml::text("CreateDate", iso8601(u.created_ms)),
    ];
    if !u.tags.is_empty() {
        v.push(tags_xml(&u.tags));
    }
    v
}

fn role_xml(r: &RoleRecord) -> Vec<Xml> {
    let mut v = vec![
        Xml::text("Path", &r.path),
        Xml::text("RoleName", &r.name),
        Xml::text("RoleId", &r.unique_id),
        Xml::text("Arn", super::role_arn(&r.account, &r.path, &r.name)),
        Xml::text("CreateDate", iso8601(r.created_ms)),
    ];
    if let Some(doc) = &r.trust_policy {
        v.push(Xml::text("AssumeRolePolicyDocument", url_encode(doc)));
    }
    if let Some(d) = &r.description {
        v.push(Xml::text("Description", d));
    }
    v.push(Xml::text(
        "MaxSessionDuration",
        r.max_session_duration.to_string(),
    ));
    if !r.tags.is_empty() {
        v.push(tags_xml(&r.tags));
    }
    v
}

fn policy_xml(p: &ManagedPolicyRecord, attachments: usize) -> Vec<Xml> {
    let mut v = vec![
        Xml::text("PolicyName", &p.name),
        Xml::text("PolicyId", &p.unique_id),
        Xml::text("Arn", p.arn()),
        Xml::text("Path", &p.path),
        Xml::text("DefaultVersionId", &p.default_version),
        Xml::text("AttachmentCount", attachments.to_string()),
        Xml::text("PermissionsBoundaryUsageCount", "0"),
        Xml::text("IsAttachable", "true"),
    ];
    if let Some(d) = &p.description {
        v.push(Xml::text("Description", d));
    }
    v.push(Xml::text("CreateDate", iso8601(p.created_ms)));
    v.push(Xml::text("UpdateDate", iso8601(p.updated_ms)));
    v
}

fn not_truncated() -> Xml {
    Xml::text("IsTruncated", "false")
}

/// The outcome of evaluating identity policies (and session policies) for one request.
enum IdentitySide {
    Allow,
    ExplicitDeny,
    NoAllow,
    NoSessionAllow,
}

fn identity_side(
    request: &RequestContext,
    is_root: bool,
    identity: &[NamedPolicy],
    session: Option<&[NamedPolicy]>,
) -> IdentitySide {
    let evaluations: Vec<PolicyEvaluation> = identity
        .iter()
        .map(|p| p.policy.evaluate(request))
        .collect();
    let session_evaluations: Vec<PolicyEvaluation> = session
        .unwrap_or_default()
        .iter()
        .map(|p| p.policy.evaluate(request))
        .collect();
    if evaluations
        .iter()
        .chain(&session_evaluations)
        .any(|e| e.explicit_deny().is_some())
    {
        return IdentitySide::ExplicitDeny;
    }
    if !is_root && !evaluations.iter().any(|e| e.any_allow().is_some()) {
        return IdentitySide::NoAllow;
    }
    if session.is_some() && !session_evaluations.iter().any(|e| e.any_allow().is_some()) {
        return IdentitySide::NoSessionAllow;
    }
    IdentitySide::Allow
}

fn is_root(caller: &Caller) -> bool {
    matches!(caller.principal.kind, PrincipalKind::Root)
}

impl Kms {
    /// Runs one STS or IAM action for an authenticated caller.
    pub fn query(
        &self,
        caller: &Caller,
        service: QueryService,
        params: &Params,
    ) -> IamResult<Vec<Xml>> {
        let action = params.get("Action").unwrap_or_default().to_string();
        match service {
            QueryService::Sts => self.sts(caller, &action, params),
            QueryService::Iam => self.iam(caller, &action, params),
        }
    }

    fn request_context(&self, caller: &Caller, action: &str, resource: &str) -> RequestContext {
        RequestContext::new(context::policy_principal(caller), action, resource)
            .with_context(context::base(caller, self.now_ms()))
    }

    /// IAM actions: identity-based policies only (and the caller's session policies); the
    /// account's root user may do everything in its account.
    fn authorize_iam(
        &self,
        dir: &Directory,
        caller: &Caller,
        action: &str,
        resource: &str,
    ) -> IamResult<()> {
        let request = self.request_context(caller, action, resource);
        let because = match identity_side(
            &request,
            is_root(caller),
            dir.identity_policies(&caller.principal),
            dir.session_policies(&caller.access_key_id),
        ) {
            IdentitySide::Allow => return Ok(()),
            IdentitySide::ExplicitDeny => {
                "with an explicit deny in an identity-based policy".to_string()
            }
            IdentitySide::NoAllow => {
                format!("because no identity-based policy allows the {action} action")
            }
            IdentitySide::NoSessionAllow => {
                format!("because no session policy allows the {action} action")
            }
        };
        Err(IamError::access_denied(format!(
            "User: {} is not authorized to perform: {action} on resource: {resource} {because}",
            caller.arn()
        )))
    }

    fn changed(&self) -> IamResult<()> {
        self.reload_identities().map_err(IamError::from)
    }

    // ---- STS ----------------------------------------------------------------------------------

    fn sts(&self, caller: &Caller, action: &str, params: &Params) -> IamResult<Vec<Xml>> {
        match action {
            "GetCallerIdentity" => Ok(vec![
                Xml::text("UserId", &caller.principal.unique_id),
                Xml::text("Account", caller.account()),
                Xml::text("Arn", caller.arn()),
            ]),
            "AssumeRole" => self.assume_role(caller, params),
            other => Err(IamError::invalid_action(other, STS_VERSION)),
        }
    }

    fn assume_role(&self, caller: &Caller, params: &Params) -> IamResult<Vec<Xml>> {
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
            Some(d) => d.parse().map_err(|_| {
                IamError::constraint(d, "durationSeconds", "Member must be a number")
            })?,
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
        let dir = self.directory();
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
        let mut actions = vec!["sts:AssumeRole"];
        if !tags.is_empty() {
            actions.push("sts:TagSession");
        }
        for action in actions {
            let mut request = self.request_context(caller, action, role_arn);
            request.context.insert("sts:RoleSessionName", session_name);
            if let Some(e) = external_id {
                request.context.insert("sts:ExternalId", e);
            }
            for (k, v) in &tags {
                request
                    .context
                    .insert(format!("aws:RequestTag/{k}"), v.as_str());
            }
            if !tags.is_empty() {
                request.context.insert(
                    "aws:TagKeys",
                    tags.iter().map(|(k, _)| k.clone()).collect::<Vec<String>>(),
                );
            }
            if !self.trust_allows(&dir, caller, &request, &trust, &role.account) {
                return Err(denied_for(action));
            }
        }
        // Issue the credentials.
        let now = self.now_ms();
        let access_key_id = ids::access_key_id("ASIA")?;
        let secret = ids::secret_access_key()?;
        let token = ids::session_token()?;
        let sealed = self.seal_secret(&access_key_id, &format!("{secret}\n{token}"))?;
        let expires_ms = now + duration * 1000;
        self.store.create_session(&SessionRecord {
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
        self.changed()?;
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

    /// The general IAM rules for a role's trust policy: an explicit deny anywhere wins; the
    /// trust policy must allow; in the role's account a statement naming the caller (or its
    /// role) suffices, while a statement naming the account delegates to the caller's identity
    /// policies; from another account the caller's identity policies must allow too. The root
    /// user passes the identity side; session policies of the caller narrow it.
    fn trust_allows(
        &self,
        dir: &Directory,
        caller: &Caller,
        request: &RequestContext,
        trust: &Policy,
        role_account: &str,
    ) -> bool {
        let rp = trust.evaluate(request);
        if rp.explicit_deny().is_some() {
            return false;
        }
        let identity = identity_side(
            request,
            is_root(caller),
            dir.identity_policies(&caller.principal),
            dir.session_policies(&caller.access_key_id),
        );
        if matches!(identity, IdentitySide::ExplicitDeny) {
            return false;
        }
        let identity_allows = matches!(identity, IdentitySide::Allow);
        let direct = rp.allow_with(PrincipalMatch::Direct).is_some();
        let account = rp.allow_with(PrincipalMatch::AccountLevel).is_some();
        let session_ok = !matches!(identity, IdentitySide::NoSessionAllow);
        if caller.account() == role_account {
            (direct && session_ok) || (account && identity_allows)
        } else {
            (direct || account) && identity_allows
        }
    }

    // ---- IAM ----------------------------------------------------------------------------------

    fn iam(&self, caller: &Caller, action: &str, p: &Params) -> IamResult<Vec<Xml>> {
        let account = caller.account().to_string();
        let dir = self.directory();
        let stored = dir.stored();
        let find_user = |name: &str| {
            stored
                .users
                .iter()
                .find(|u| u.account == account && same_name(&u.name, name))
                .cloned()
                .ok_or_else(|| {
                    IamError::no_such_entity(format!("The user with name {name} cannot be found."))
                })
        };
        let find_role = |name: &str| {
            stored
                .roles
                .iter()
                .find(|r| r.account == account && same_name(&r.name, name))
                .cloned()
                .ok_or_else(|| {
                    IamError::no_such_entity(format!("The role with name {name} cannot be found."))
                })
        };
        let find_policy = |arn: &str| {
            stored
                .policies
                .iter()
                .find(|pol| pol.account == account && pol.arn() == arn)
                .cloned()
                .ok_or_else(|| {
                    IamError::no_such_entity(format!(
                        "Policy {arn} does not exist or is not attachable."
                    ))
                })
        };
        let attachments_of = |arn: &str| {
            stored
                .attachments
                .iter()
                .filter(|a| a.policy_arn == arn)
                .count()
        };
        let user_resource = |name: &str, path: &str| super::user_arn(&account, path, name);
        let role_resource = |name: &str, path: &str| super::role_arn(&account, path, name);
        // The resource of an action on a user or role that may not exist: its ARN with the
        // stored path when it exists, the root path otherwise.
        let user_arn_of = |name: &str| {
            find_user(name).map_or_else(
                |_| user_resource(name, "/"),
                |u| user_resource(&u.name, &u.path),
            )
        };
        let role_arn_of = |name: &str| {
            find_role(name).map_or_else(
                |_| role_resource(name, "/"),
                |r| role_resource(&r.name, &r.path),
            )
        };
        let owner = |kind: OwnerKind, name: &str| -> IamResult<String> {
            match kind {
                OwnerKind::User => find_user(name).map(|u| u.name),
                OwnerKind::Role => find_role(name).map(|r| r.name),
            }
        };
        let now = self.now_ms();
        let iam_action = format!("iam:{action}");
        let authorize = |resource: &str| self.authorize_iam(&dir, caller, &iam_action, resource);
        match action {
            "CreateUser" => {
                let name = p.require("UserName", "userName")?;
                check_name(name, "userName", 64)?;
                let path = p.get("Path").unwrap_or("/");
                check_path(path, "path")?;
                authorize(&user_resource(name, path))?;
                let tags = p.tags()?;
                let user = UserRecord {
                    account: account.clone(),
                    name: name.to_string(),
                    path: path.to_string(),
                    unique_id: ids::unique_id("AIDA")?,
                    created_ms: now,
                    tags,
                };
                match self.store.create_iam_user(&user) {
                    Err(StoreError::AlreadyExists) => {
                        return Err(IamError::already_exists(format!(
                            "User with name {name} already exists."
                        )));
                    }
                    other => other?,
                }
                self.changed()?;
                Ok(vec![Xml::Node("User", user_xml(&user))])
            }
            "GetUser" => {
                let user = match p.get("UserName") {
                    Some(name) => {
                        check_name(name, "userName", 128)?;
                        authorize(&user_arn_of(name))?;
                        find_user(name)?
                    }
                    // Without a name: the caller itself (a user).
                    None => match &caller.principal.kind {
                        PrincipalKind::User { name, .. } => find_user(name)?,
                        PrincipalKind::Root => {
                            return Ok(vec![Xml::Node(
                                "User",
                                vec![
                                    Xml::text("UserId", &account),
                                    Xml::text("Arn", caller.arn()),
                                    Xml::text("CreateDate", iso8601(0)),
                                ],
                            )]);
                        }
                        PrincipalKind::AssumedRole { .. } => {
                            return Err(IamError::validation(
                                "Must specify userName when calling with non-User credentials",
                            ));
                        }
                    },
                };
                Ok(vec![Xml::Node("User", user_xml(&user))])
            }
            "DeleteUser" => {
                let name = p.require("UserName", "userName")?;
                check_name(name, "userName", 128)?;
                authorize(&user_arn_of(name))?;
                let user = find_user(name)?;
                match self.store.delete_iam_user(&account, &user.name) {
                    Err(StoreError::Conflict("access keys")) => {
                        return Err(IamError::delete_conflict(
                            "Cannot delete entity, must delete access keys first.",
                        ));
                    }
                    Err(StoreError::Conflict(_)) => {
                        return Err(IamError::delete_conflict(
                            "Cannot delete entity, must delete policies first.",
                        ));
                    }
                    Err(StoreError::NotFound) => {
                        return Err(IamError::no_such_entity(format!(
                            "The user with name {name} cannot be found."
                        )));
                    }
                    other => other?,
                }
                self.changed()?;
                Ok(vec![])
            }
            "ListUsers" => {
                authorize(&format!("arn:aws:iam::{account}:user/"))?;
                let prefix = p.get("PathPrefix").unwrap_or("/");
                let users = stored
                    .users
                    .iter()
                    .filter(|u| u.account == account && u.path.starts_with(prefix))
                    .map(|u| {
                        let mut x = user_xml(u);
                        x.retain(|e| !matches!(e, Xml::Node("Tags", _)));
                        x
                    })
                    .collect();
                Ok(vec![Xml::list("Users", users), not_truncated()])
            }
            "CreateRole" => {
                let name = p.require("RoleName", "roleName")?;
                check_name(name, "roleName", 64)?;
                let path = p.get("Path").unwrap_or("/");
                check_path(path, "path")?;
                let trust = p.require("AssumeRolePolicyDocument", "assumeRolePolicyDocument")?;
                authorize(&role_resource(name, path))?;
                parse_document(trust, PolicyKind::TrustPolicy)?;
                let max: i64 = match p.get("MaxSessionDuration") {
                    None => 3600,
                    Some(v) => v.parse().map_err(|_| {
                        IamError::constraint(v, "maxSessionDuration", "Member must be a number")
                    })?,
                };
                if !(3600..=43200).contains(&max) {
                    return Err(IamError::constraint(
                        &max.to_string(),
                        "maxSessionDuration",
                        if max < 3600 {
                            "Member must have value greater than or equal to 3600"
                        } else {
                            "Member must have value less than or equal to 43200"
                        },
                    ));
                }
                let role = RoleRecord {
                    account: account.clone(),
                    name: name.to_string(),
                    path: path.to_string(),
                    unique_id: ids::unique_id("AROA")?,
                    created_ms: now,
                    tags: p.tags()?,
                    trust_policy: Some(trust.to_string()),
                    max_session_duration: max,
                    description: p.get("Description").map(str::to_string),
                };
                match self.store.create_iam_role(&role) {
                    Err(StoreError::AlreadyExists) => {
                        return Err(IamError::already_exists(format!(
                            "Role with name {name} already exists."
                        )));
                    }
                    other => other?,
                }
                self.changed()?;
                Ok(vec![Xml::Node("Role", role_xml(&role))])
            }
            "GetRole" => {
                let name = p.require("RoleName", "roleName")?;
                check_name(name, "roleName", 64)?;
                authorize(&role_arn_of(name))?;
                Ok(vec![Xml::Node("Role", role_xml(&find_role(name)?))])
            }
            "DeleteRole" => {
                let name = p.require("RoleName", "roleName")?;
                check_name(name, "roleName", 64)?;
                authorize(&role_arn_of(name))?;
                let role = find_role(name)?;
                match self.store.delete_iam_role(&account, &role.name) {
                    Err(StoreError::Conflict(_)) => {
                        return Err(IamError::delete_conflict(
                            "Cannot delete entity, must detach all policies first.",
                        ));
                    }
                    Err(StoreError::NotFound) => {
                        return Err(IamError::no_such_entity(format!(
                            "The role with name {name} cannot be found."
                        )));
                    }
                    other => other?,
                }
                self.changed()?;
                Ok(vec![])
            }
            "ListRoles" => {
                authorize(&format!("arn:aws:iam::{account}:role/"))?;
                let prefix = p.get("PathPrefix").unwrap_or("/");
                let roles = stored
                    .roles
                    .iter()
                    .filter(|r| r.account == account && r.path.starts_with(prefix))
                    .map(role_xml)
                    .collect();
                Ok(vec![Xml::list("Roles", roles), not_truncated()])
            }
            "UpdateAssumeRolePolicy" => {
                let name = p.require("RoleName", "roleName")?;
                check_name(name, "roleName", 64)?;
                let doc = p.require("PolicyDocument", "policyDocument")?;
                authorize(&role_arn_of(name))?;
                let role = find_role(name)?;
                parse_document(doc, PolicyKind::TrustPolicy)?;
                self.store
                    .update_role_trust_policy(&account, &role.name, doc)?;
                self.changed()?;
                Ok(vec![])
            }
            "TagUser" | "TagRole" => {
                let kind = if action == "TagUser" {
                    OwnerKind::User
                } else {
                    OwnerKind::Role
                };
                let (member, param) = match kind {
                    OwnerKind::User => ("userName", "UserName"),
                    OwnerKind::Role => ("roleName", "RoleName"),
                };
                let name = p.require(param, member)?;
                check_name(name, member, 128)?;
                let tags = p.tags()?;
                if tags.is_empty() {
                    return Err(IamError::missing("tags"));
                }
                let (existing, resource, stored_name) = match kind {
                    OwnerKind::User => {
                        authorize(&user_arn_of(name))?;
                        let u = find_user(name)?;
                        (u.tags, user_resource(&u.name, &u.path), u.name)
                    }
                    OwnerKind::Role => {
                        authorize(&role_arn_of(name))?;
                        let r = find_role(name)?;
                        (r.tags, role_resource(&r.name, &r.path), r.name)
                    }
                };
                let _ = resource;
                let merged = merge_tags(&existing, &tags);
                if merged.len() > 50 {
                    return Err(IamError::limit_exceeded(
                        "The number of tags has reached the maximum limit.",
                    ));
                }
                self.store
                    .set_iam_tags(kind, &account, &stored_name, &merged)?;
                self.changed()?;
                Ok(vec![])
            }
            "PutUserPolicy" | "PutRolePolicy" | "GetUserPolicy" | "GetRolePolicy"
            | "DeleteUserPolicy" | "DeleteRolePolicy" | "ListUserPolicies" | "ListRolePolicies" => {
                let kind = if action.contains("User") {
                    OwnerKind::User
                } else {
                    OwnerKind::Role
                };
                let (param, member) = match kind {
                    OwnerKind::User => ("UserName", "userName"),
                    OwnerKind::Role => ("RoleName", "roleName"),
                };
                let name = p.require(param, member)?;
                check_name(name, member, 128)?;
                authorize(&match kind {
                    OwnerKind::User => user_arn_of(name),
                    OwnerKind::Role => role_arn_of(name),
                })?;
                let owner_name = owner(kind, name)?;
                let inline = |policy: &str| {
                    stored.inline_policies.iter().find(|i| {
                        i.account == account
                            && i.owner == kind
                            && same_name(&i.owner_name, &owner_name)
                            && i.name == policy
                    })
                };
                let not_found = |policy: &str| {
                    IamError::no_such_entity(format!(
                        "The {} policy with name {policy} cannot be found.",
                        kind.as_str()
                    ))
                };
                if action.starts_with("List") {
                    let names = stored
                        .inline_policies
                        .iter()
                        .filter(|i| {
                            i.account == account
                                && i.owner == kind
                                && same_name(&i.owner_name, &owner_name)
                        })
                        .map(|i| i.name.clone());
                    return Ok(vec![Xml::strings("PolicyNames", names), not_truncated()]);
                }
                let policy_name = p.require("PolicyName", "policyName")?;
                check_name(policy_name, "policyName", 128)?;
                if action.starts_with("Put") {
                    let doc = p.require("PolicyDocument", "policyDocument")?;
                    parse_document(doc, PolicyKind::IdentityPolicy)?;
                    self.store.put_inline_policy(&InlinePolicyRecord {
                        account: account.clone(),
                        owner: kind,
                        owner_name,
                        name: policy_name.to_string(),
                        document: doc.to_string(),
                    })?;
                    self.changed()?;
                    Ok(vec![])
                } else if action.starts_with("Get") {
                    let found = inline(policy_name).ok_or_else(|| not_found(policy_name))?;
                    Ok(vec![
                        Xml::text(param, &owner_name),
                        Xml::text("PolicyName", &found.name),
                        Xml::text("PolicyDocument", url_encode(&found.document)),
                    ])
                } else {
                    match self
                        .store
                        .delete_inline_policy(&account, kind, &owner_name, policy_name)
                    {
                        Err(StoreError::NotFound) => return Err(not_found(policy_name)),
                        other => other?,
                    }
                    self.changed()?;
                    Ok(vec![])
                }
            }
            "CreatePolicy" => {
                let name = p.require("PolicyName", "policyName")?;
                check_name(name, "policyName", 128)?;
                let path = p.get("Path").unwrap_or("/");
                check_path(path, "path")?;
                let doc = p.require("PolicyDocument", "policyDocument")?;
                let arn = format!("arn:aws:iam::{account}:policy{path}{name}");
                authorize(&arn)?;
                parse_document(doc, PolicyKind::IdentityPolicy)?;
                let policy = ManagedPolicyRecord {
                    account: account.clone(),
                    name: name.to_string(),
                    path: path.to_string(),
                    unique_id: ids::unique_id("ANPA")?,
                    created_ms: now,
                    updated_ms: now,
                    description: p.get("Description").map(str::to_string),
                    default_version: "v1".to_string(),
                    versions: vec![PolicyVersionRecord {
                        version_id: "v1".to_string(),
                        document: doc.to_string(),
                        created_ms: now,
                    }],
                };
                match self.store.create_managed_policy(&policy) {
                    Err(StoreError::AlreadyExists) => {
                        return Err(IamError::already_exists(format!(
                            "A policy called {name} already exists. Duplicate names are not \
                             allowed."
                        )));
                    }
                    other => other?,
                }
                self.changed()?;
                Ok(vec![Xml::Node("Policy", policy_xml(&policy, 0))])
            }
            "GetPolicy" | "DeletePolicy" | "GetPolicyVersion" => {
                let arn = p.require("PolicyArn", "policyArn")?;
                authorize(arn)?;
                let policy = find_policy(arn).map_err(|_| {
                    IamError::no_such_entity(format!("Policy {arn} was not found."))
                })?;
                match action {
                    "GetPolicy" => Ok(vec![Xml::Node(
                        "Policy",
                        policy_xml(&policy, attachments_of(arn)),
                    )]),
                    "GetPolicyVersion" => {
                        let version = p.require("VersionId", "versionId")?;
                        let v = policy
                            .versions
                            .iter()
                            .find(|v| v.version_id == version)
                            .ok_or_else(|| {
                                IamError::no_such_entity(format!(
                                    "Policy {arn} version {version} does not exist or is not \
                                     attachable."
                                ))
                            })?;
                        Ok(vec![Xml::Node(
                            "PolicyVersion",
                            vec![
                                Xml::text("Document", url_encode(&v.document)),
                                Xml::text("VersionId", &v.version_id),
                                Xml::text(
                                    "IsDefaultVersion",
                                    (v.version_id == policy.default_version).to_string(),
                                ),
                                Xml::text("CreateDate", iso8601(v.created_ms)),
                            ],
                        )])
                    }
                    _ => {
                        match self
                            .store
                            .delete_managed_policy(&account, &policy.name, arn)
                        {
                            Err(StoreError::Conflict(_)) => {
                                return Err(IamError::delete_conflict(
                                    "Cannot delete a policy attached to entities.",
                                ));
                            }
                            other => other?,
                        }
                        self.changed()?;
                        Ok(vec![])
                    }
                }
            }
            "ListPolicies" => {
                authorize(&format!("arn:aws:iam::{account}:policy/"))?;
                let scope = p.get("Scope").unwrap_or("All");
                let only_attached = p.get("OnlyAttached") == Some("true");
                let prefix = p.get("PathPrefix").unwrap_or("/");
                let policies = stored
                    .policies
                    .iter()
                    .filter(|pol| pol.account == account && pol.path.starts_with(prefix))
                    // Trent has no AWS managed policies.
                    .filter(|_| scope != "AWS")
                    .map(|pol| (pol, attachments_of(&pol.arn())))
                    .filter(|(_, n)| !only_attached || *n > 0)
                    .map(|(pol, n)| policy_xml(pol, n))
                    .collect();
                Ok(vec![Xml::list("Policies", policies), not_truncated()])
            }
            "AttachUserPolicy"
            | "AttachRolePolicy"
            | "DetachUserPolicy"
            | "DetachRolePolicy"
            | "ListAttachedUserPolicies"
            | "ListAttachedRolePolicies" => {
                let kind = if action.contains("User") {
                    OwnerKind::User
                } else {
                    OwnerKind::Role
                };
                let (param, member) = match kind {
                    OwnerKind::User => ("UserName", "userName"),
                    OwnerKind::Role => ("RoleName", "roleName"),
                };
                let name = p.require(param, member)?;
                check_name(name, member, 128)?;
                authorize(&match kind {
                    OwnerKind::User => user_arn_of(name),
                    OwnerKind::Role => role_arn_of(name),
                })?;
                let owner_name = owner(kind, name)?;
                if action.starts_with("List") {
                    let attached = stored
                        .attachments
                        .iter()
                        .filter(|a| {
                            a.account == account
                                && a.owner == kind
                                && same_name(&a.owner_name, &owner_name)
                        })
                        .map(|a| {
                            let name = a.policy_arn.rsplit('/').next().unwrap_or_default();
                            vec![
                                Xml::text("PolicyName", name),
                                Xml::text("PolicyArn", &a.policy_arn),
                            ]
                        })
                        .collect();
                    return Ok(vec![
                        Xml::list("AttachedPolicies", attached),
                        not_truncated(),
                    ]);
                }
                let arn = p.require("PolicyArn", "policyArn")?;
                let record = AttachmentRecord {
                    account: account.clone(),
                    owner: kind,
                    owner_name,
                    policy_arn: arn.to_string(),
                };
                if action.starts_with("Attach") {
                    find_policy(arn)?;
                    self.store.attach_policy(&record)?;
                } else {
                    match self.store.detach_policy(&record) {
                        Err(StoreError::NotFound) => {
                            return Err(IamError::no_such_entity(format!(
                                "Policy {arn} was not found."
                            )));
                        }
                        other => other?,
                    }
                }
                self.changed()?;
                Ok(vec![])
            }
            "CreateAccessKey" | "ListAccessKeys" | "DeleteAccessKey" => {
                // Without UserName: the caller's own keys (a user's, or the root user's).
                let user = match p.get("UserName") {
                    Some(name) => {
                        check_name(name, "userName", 128)?;
                        authorize(&user_arn_of(name))?;
                        Some(find_user(name)?)
                    }
                    None => match &caller.principal.kind {
                        PrincipalKind::Root => {
                            authorize(caller.arn())?;
                            None
                        }
                        PrincipalKind::User { name, .. } => {
                            authorize(caller.arn())?;
                            Some(find_user(name)?)
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
                let keys: Vec<_> = stored
                    .access_keys
                    .iter()
                    .filter(|k| {
                        k.account == account
                            && k.kind == kind
                            && same_name(&k.owner_name, &owner_name)
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
                match action {
                    "ListAccessKeys" => {
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
                    "CreateAccessKey" => {
                        if keys.len() >= 2 {
                            return Err(IamError::limit_exceeded(
                                "Cannot exceed quota for AccessKeysPerUser: 2",
                            ));
                        }
                        let id = ids::access_key_id("AKIA")?;
                        let secret = ids::secret_access_key()?;
                        self.store.create_iam_access_key(&AccessKeyRecord {
                            access_key_id: id.clone(),
                            account: account.clone(),
                            kind,
                            owner_name: owner_name.clone(),
                            session_name: None,
                            via_service: None,
                            acts_for: None,
                            secret: self.seal_secret(&id, &secret)?,
                            active: true,
                            created_ms: now,
                        })?;
                        self.changed()?;
                        let mut v = metadata(&id, now, true);
                        v.insert(v.len() - 1, Xml::text("SecretAccessKey", secret));
                        Ok(vec![Xml::Node("AccessKey", v)])
                    }
                    _ => {
                        let id = p.require("AccessKeyId", "accessKeyId")?;
                        match self.store.delete_iam_access_key(&account, &owner_name, id) {
                            Err(StoreError::NotFound) => {
                                return Err(IamError::no_such_entity(format!(
                                    "The Access Key with id {id} cannot be found."
                                )));
                            }
                            other => other?,
                        }
                        self.changed()?;
                        Ok(vec![])
                    }
                }
            }
            other => Err(IamError::invalid_action(other, IAM_VERSION)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoding_and_dates() {
        assert_eq!(url_encode("{\"a\": 1}"), "%7B%22a%22%3A%201%7D");
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn names_and_paths() {
        assert!(check_name("alice+bob@x.com", "userName", 64).is_ok());
        let e = check_name("bad name", "userName", 64).unwrap_err();
        assert_eq!(e.code, "ValidationError");
        assert!(check_name(&"a".repeat(65), "userName", 64).is_err());
        assert!(check_path("/", "path").is_ok());
        assert!(check_path("/eng/team/", "path").is_ok());
        assert!(check_path("eng/", "path").is_err());
        assert!(check_path("//", "path").is_ok());
    }

    #[test]
    fn member_lists() {
        let mut p = Params::default();
        for (k, v) in [
            ("Tags.member.1.Key", "team"),
            ("Tags.member.1.Value", "blue"),
            ("Tags.member.2.Key", "env"),
            ("Tags.member.2.Value", ""),
        ] {
            p.0.insert(k.into(), v.into());
        }
        assert_eq!(
            p.tags().unwrap(),
            vec![("team".into(), "blue".into()), ("env".into(), "".into())]
        );
    }
}
