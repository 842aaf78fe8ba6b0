//! The service side of authorization: gathers what one check needs from live state (the key's
//! stored policy, the caller's identity and session policies, the matching grants, condition
//! keys), asks the one decision function ([`decide::decide`]), records the decision in the
//! request's [`Call`] and enforces it according to `--authz`. Every KMS, IAM and STS request is
//! authorized here; `crate::authz` itself is pure and knows nothing of the service.

use std::sync::Arc;

use trent_policy::{ConditionContext, Policy, PolicyKind};
use trent_store::{GrantRecord, KeyRecord};

use crate::arn::key_arn;
use crate::authz::context::{self, ContextExt};
use crate::authz::{AuthzMode, Check, Decision, Resource, decide, grants, recreated_grantee};
use crate::call::Call;
use crate::error::{ErrorCode, KmsError, KmsResult};
use crate::identity::Caller;
use crate::operation::{grant_operation, is_cross_account_action};
use crate::service::Kms;

/// The principal the key policy of `key` sees for `caller`, when the caller's user or role was
/// deleted and recreated since the policy named it: the policy recorded another unique ID for
/// that ARN, so (as in AWS) the policy does not name the caller. Its user or role ARN is replaced
/// by `<ARN> (recreated: unique ID <current>, …)`, which no policy can name. A session ARN is
/// left as is (policies naming sessions are matched by ARN, as in AWS).
fn recreated_principal(
    caller: &Caller,
    key: &KeyRecord,
    principal: &trent_policy::Principal,
) -> Option<trent_policy::Principal> {
    let ids = key.policy_principal_ids.as_deref()?;
    let current = caller.principal.identity_unique_id()?;
    let arn = caller.principal.principal_arn();
    let ids: std::collections::HashMap<String, String> = match serde_json::from_str(ids) {
        Ok(ids) => ids,
        Err(e) => {
            tracing::warn!(key = %key.key_id, error = %e, "stored policy principal IDs do not parse");
            return None;
        }
    };
    let recorded = ids.get(arn)?;
    if recorded == current {
        return None;
    }
    let marker = format!("{arn} (recreated: unique ID {current}, the key policy named {recorded})");
    let mut p = principal.clone();
    match &mut p.kind {
        trent_policy::PrincipalKind::AssumedRole { role_arn } => *role_arn = marker,
        _ => p.arn = marker,
    }
    Some(p)
}

/// How many grants naming the caller that do not allow a request its decision keeps (the
/// nearest candidates for "why not"; the rest are counted in `Decision::grants_not_shown`).
pub const MAX_NON_APPLYING_GRANTS: usize = 10;

impl Kms {
    fn key_policy(&self, key: &KeyRecord) -> KmsResult<Arc<Policy>> {
        self.policies
            .get_or_parse(&key.policy, PolicyKind::KeyPolicy)
            .map_err(|e| {
                KmsError::internal(format!("stored policy of {} is invalid: {e}", key.key_id))
            })
    }

    /// Decides one check for `caller` against `policy_override` (the lockout check evaluates a
    /// candidate policy) or the key's stored policy.
    pub(crate) fn decide_check(
        &self,
        caller: &Caller,
        check: &Check<'_>,
        policy_override: Option<&Policy>,
    ) -> KmsResult<Decision> {
        let principal = context::policy_principal(caller);
        let directory = self.directory();
        let identity = directory.identity_policies(&caller.principal);
        let identity: Vec<decide::IdentityPolicy<'_>> = identity
            .iter()
            .map(|p| decide::IdentityPolicy {
                name: &p.name,
                policy: &p.policy,
            })
            .collect();
        // Session policies of temporary credentials narrow whatever the rest allows.
        let session: Option<Vec<decide::IdentityPolicy<'_>>> =
            directory.session_policies(&caller.access_key_id).map(|ps| {
                ps.iter()
                    .map(|p| decide::IdentityPolicy {
                        name: &p.name,
                        policy: &p.policy,
                    })
                    .collect()
            });
        let session = session.as_deref();
        let guardrails: Vec<decide::GuardrailPolicy<'_>> = directory
            .permissions_boundary(&caller.principal)
            .map(|p| decide::GuardrailPolicy {
                guardrail: decide::Guardrail::PermissionsBoundary,
                name: &p.name,
                level: None,
                policy: &p.policy,
            })
            .into_iter()
            .collect();
        let build_base =
            || context::base(caller, self.now_ms()).with_pairs(check.context.iter().cloned());
        // Checks on a key build theirs only if a policy will read it (below).
        let base = if matches!(check.resource, Resource::Key(_)) {
            ConditionContext::new()
        } else {
            build_base()
        };
        let decision = match &check.resource {
            Resource::Key(key) => {
                let arn = key_arn(&key.region, &key.account, &key.key_id);
                let stored;
                let policy = match policy_override {
                    Some(p) => p,
                    None => {
                        stored = self.key_policy(key)?;
                        &stored
                    }
                };
                let kp_principal = recreated_principal(caller, key, &principal);
                // No statement of any policy in the question has a Condition or a policy
                // variable (the default key policy, most identity policies): nothing would read
                // the ~25 condition keys, so they are not built (nor the key's tags and aliases
                // read). The decision cannot differ: only conditions and variables read them.
                let reads_context = policy.reads_context()
                    || identity.iter().any(|p| p.policy.reads_context())
                    || session.is_some_and(|s| s.iter().any(|p| p.policy.reads_context()))
                    || guardrails.iter().any(|g| g.policy.reads_context());
                let kp_context = if reads_context {
                    build_base().with_pairs(context::key_properties(key))
                } else {
                    ConditionContext::new()
                };
                // IAM-only condition keys cost two reads and a copy of the context; only when
                // IAM's policies (identity policies, a permissions boundary) will look.
                let iam_context;
                let identity_context =
                    if (identity.is_empty() && guardrails.is_empty()) || !reads_context {
                        &kp_context
                    } else {
                        let tags = self.store.tags(&key.region, &key.key_id)?;
                        let aliases =
                            self.store
                                .aliases_of_key(&key.region, &key.account, &key.key_id)?;
                        iam_context = kp_context
                            .clone()
                            .with_pairs(context::iam_only_key_properties(&tags, &aliases));
                        &iam_context
                    };
                let (grants, grants_not_shown) =
                    self.grant_outcomes(caller, &principal, key, check)?;
                let mut decision = decide::decide(&decide::Question {
                    principal: &principal,
                    action: check.action,
                    resource: &arn,
                    resource_policy: Some(decide::ResourceAccess {
                        policy_principal: kp_principal.as_ref(),
                        ..decide::ResourceAccess::key_policy(&key.account, policy)
                    }),
                    cross_account_action: is_cross_account_action(check.action),
                    resource_policy_context: &kp_context,
                    identity_context,
                    identity_policies: &identity,
                    session_policies: session,
                    guardrails: &guardrails,
                    grants: &grants,
                });
                decision.grants_not_shown = grants_not_shown;
                if !decision.is_allowed() {
                    decision.ended_grants =
                        self.ended_grant_outcomes(caller, &principal, key, check)?;
                }
                decision
            }
            Resource::Arn(arn) => decide::decide(&decide::Question {
                principal: &principal,
                action: check.action,
                resource: arn,
                resource_policy: None,
                cross_account_action: false,
                resource_policy_context: &base,
                identity_context: &base,
                identity_policies: &identity,
                session_policies: session,
                guardrails: &guardrails,
                grants: &[],
            }),
            Resource::Role {
                arn,
                account,
                trust_policy,
            } => decide::decide(&decide::Question {
                principal: &principal,
                action: check.action,
                resource: arn,
                resource_policy: Some(decide::ResourceAccess {
                    account,
                    policy: Some(trust_policy),
                    role: decide::ResourcePolicyRole::RootOfTrust,
                    policy_principal: None,
                }),
                cross_account_action: true,
                resource_policy_context: &base,
                identity_context: &base,
                identity_policies: &identity,
                session_policies: session,
                guardrails: &guardrails,
                grants: &[],
            }),
            Resource::None => decide::decide(&decide::Question {
                principal: &principal,
                action: check.action,
                resource: "*",
                resource_policy: None,
                cross_account_action: false,
                resource_policy_context: &base,
                identity_context: &base,
                identity_policies: &identity,
                session_policies: session,
                guardrails: &guardrails,
                grants: &[],
            }),
        };
        Ok(decision)
    }

    /// The grants of `key` naming the caller (directly, through its role, or its account), each
    /// evaluated for this check, in creation order; and how many were left out. An index
    /// lookup: cost does not grow with the key's other grants. Evaluation stops at the first
    /// grant for the caller itself that allows (no later grant can change the decision), and of
    /// those that do not allow only the first [`MAX_NON_APPLYING_GRANTS`] are kept: the
    /// decision and its audit record stay small however many grants name the caller.
    fn grant_outcomes(
        &self,
        caller: &Caller,
        principal: &trent_policy::Principal,
        key: &KeyRecord,
        check: &Check<'_>,
    ) -> KmsResult<(Vec<decide::GrantOutcome>, usize)> {
        let Some(operation) = grant_operation(check.action) else {
            return Ok((Vec::new(), 0));
        };
        let records = with_grantees(&caller.principal, |grantees| {
            self.store
                .grants_for_grantees(&key.region, &key.key_id, grantees)
        })?;
        let mut outcomes = Vec::new();
        let mut not_applying: usize = 0;
        for (index, record) in records.iter().enumerate() {
            let constraints = grants::parse_constraints(record.constraints.as_deref())?;
            let mut outcome = grants::evaluate_grant(
                &view(record, &constraints),
                &grants::GrantRequest {
                    principal,
                    operation,
                    encryption_context: check.grant_context.as_ref(),
                    source_arn: None,
                },
            );
            if outcome.grantee_matches
                && let Some(why) = recreated_grantee(
                    record.grantee_principal.as_deref(),
                    record.grantee_unique_id.as_deref(),
                    &caller.principal,
                )
            {
                outcome.grantee_matches = false;
                outcome.account_grantee = false;
                outcome.applies = false;
                outcome.mismatch = Some(why);
            }
            if outcome.applies
                && let Some(child) = &check.child_grant
                && let Some(why) =
                    grants::narrowing_violation(&record.operations, &constraints, child)
            {
                outcome.applies = false;
                outcome.mismatch = Some(why);
            }
            if outcome.applies {
                // An account grant still needs IAM in that account, which `decide` checks: a
                // later grant may be the one that allows.
                let decides = !outcome.account_grantee;
                outcomes.push(outcome);
                if decides {
                    let not_evaluated = records.len() - index - 1;
                    let dropped = not_applying.saturating_sub(MAX_NON_APPLYING_GRANTS);
                    return Ok((outcomes, not_evaluated + dropped));
                }
            } else {
                not_applying += 1;
                if not_applying <= MAX_NON_APPLYING_GRANTS {
                    outcomes.push(outcome);
                }
            }
        }
        Ok((
            outcomes,
            not_applying.saturating_sub(MAX_NON_APPLYING_GRANTS),
        ))
    }

    /// For a denial of a grantable action on a key: the key's retired or revoked grants for
    /// the caller that would have allowed it (at most [`MAX_ENDED_GRANTS_SHOWN`]). Read only
    /// for denials, so allowed requests never pay for it.
    fn ended_grant_outcomes(
        &self,
        caller: &Caller,
        principal: &trent_policy::Principal,
        key: &KeyRecord,
        check: &Check<'_>,
    ) -> KmsResult<Vec<decide::EndedGrantOutcome>> {
        let Some(operation) = grant_operation(check.action) else {
            return Ok(Vec::new());
        };
        let ended = with_grantees(&caller.principal, |grantees| {
            self.store
                .ended_grants_for_grantees(&key.region, &key.key_id, grantees)
        })?;
        let mut out = Vec::new();
        for e in &ended {
            let constraints = grants::parse_constraints(e.grant.constraints.as_deref())?;
            let outcome = grants::evaluate_grant(
                &view(&e.grant, &constraints),
                &grants::GrantRequest {
                    principal,
                    operation,
                    encryption_context: check.grant_context.as_ref(),
                    source_arn: None,
                },
            );
            if outcome.applies {
                out.push(decide::EndedGrantOutcome {
                    grant: outcome,
                    how: e.ending.how.as_str().to_string(),
                    by: e.ending.by.clone(),
                    at_ms: e.ending.at_ms,
                    request_id: e.ending.request_id.clone(),
                });
                if out.len() == MAX_ENDED_GRANTS_SHOWN {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Allows the request only if every check passes; reports the first failing check.
    pub(crate) fn authorize(&self, caller: &Call<'_>, checks: &[Check<'_>]) -> KmsResult<()> {
        for check in checks {
            if let Resource::Key(key) = &check.resource {
                caller.note_key(&key.region, &key.key_id);
            }
        }
        if self.authz_mode == AuthzMode::Off {
            return Ok(());
        }
        for check in checks {
            let decision = self.decide_check(caller, check, None)?;
            let allowed = decision.is_allowed();
            let message = (!allowed).then(|| decision.denial_message(caller.arn()));
            caller.record(decision);
            if let Some(message) = message {
                if self.authz_mode == AuthzMode::Audit {
                    tracing::warn!(caller = caller.arn(), %message, "authorization denial overridden (audit mode)");
                    caller.mark_overridden();
                    continue;
                }
                return Err(KmsError::new(ErrorCode::AccessDenied, message));
            }
        }
        Ok(())
    }

    /// Authorization, then the DryRun answer when the request asked for one.
    pub(crate) fn authorize_dry_run(
        &self,
        caller: &Call<'_>,
        checks: &[Check<'_>],
        dry_run: Option<bool>,
    ) -> KmsResult<()> {
        self.authorize(caller, checks)?;
        if dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        Ok(())
    }
}

/// How many retired or revoked grants that would have allowed a denied request its decision
/// names.
const MAX_ENDED_GRANTS_SHOWN: usize = 3;

/// Calls `f` with the grantee principals a grant for `p` can name: `p` itself, its account
/// (as ID and root ARN), and for a session its role.
fn with_grantees<T>(p: &crate::identity::Principal, f: impl FnOnce(&[&str]) -> T) -> T {
    let root = crate::arn::account_root_arn("aws", &p.account);
    let mut grantees = vec![p.arn.as_str(), p.account.as_str(), root.as_str()];
    if p.principal_arn() != p.arn {
        grantees.push(p.principal_arn());
    }
    f(&grantees)
}

/// The parts of a stored grant the grant matcher reads.
fn view<'a>(
    record: &'a GrantRecord,
    constraints: &'a grants::GrantConstraints,
) -> grants::GrantView<'a> {
    grants::GrantView {
        grant_id: &record.grant_id,
        name: record.name.as_deref(),
        grantee_principal: record.grantee_principal.as_deref(),
        grantee_service_principal: record.grantee_service_principal.as_deref(),
        operations: &record.operations,
        constraints,
        created_by: record.created_by.as_deref(),
        created_ms: record.created_ms,
        created_request_id: record.created_request_id.as_deref(),
    }
}
