//! Who may read explanations and access reports: they show policies and grants, so they are
//! authorized like any request, through the same `decide_check` as KMS requests.

use crate::authz::Check;
use crate::error::{ErrorCode, KmsError, KmsResult};
use crate::service::Kms;

/// The action that lets a principal use Trent's explain and access APIs (besides the root user
/// of the key's account).
pub const EXPLAIN_ACTION: &str = "trent:Explain";

impl Kms {
    /// Whether `requester` may see explanations and access reports about a resource of
    /// `account` (`resource` is a key ARN, or `*`): the requester must belong to that account and
    /// be its root user or be allowed `trent:Explain` on the resource by its identity policies.
    pub fn authorize_explain(
        &self,
        requester: &crate::call::Call<'_>,
        account: &str,
        resource: &str,
    ) -> KmsResult<()> {
        let decision = self.decide_check(
            requester,
            &Check::arn(EXPLAIN_ACTION, resource.to_string()),
            None,
        )?;
        let allowed = decision.is_allowed();
        let message = decision.denial_message(requester.arn());
        requester.record(decision);
        if requester.account() != account {
            return Err(KmsError::new(
                ErrorCode::AccessDenied,
                format!(
                    "User: {} is not authorized to perform: {EXPLAIN_ACTION} on resource: {resource} because it belongs to account {account}",
                    requester.arn()
                ),
            ));
        }
        if allowed {
            Ok(())
        } else {
            Err(KmsError::new(ErrorCode::AccessDenied, message))
        }
    }
}
