//! The STS and IAM actions Trent serves, as data: one enum generated from one list, so that
//! dispatch, the `sts:`/`iam:` action the authorizer checks, and the audit record's event name
//! cannot disagree.

use super::query::QueryService;

macro_rules! query_actions {
    ($( $service:ident $prefix:literal { $( $name:ident ),* $(,)? } )*) => {
        /// One STS or IAM action.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum QueryAction {
            $($($name,)*)*
        }

        impl QueryAction {
            /// Every action, in the order of the list above.
            pub const ALL: &'static [QueryAction] = &[$($(QueryAction::$name,)*)*];

            /// The `Action` parameter's value (also the audit record's event name).
            pub fn name(self) -> &'static str {
                match self {
                    $($(QueryAction::$name => stringify!($name),)*)*
                }
            }

            pub fn service(self) -> QueryService {
                match self {
                    $($(QueryAction::$name => QueryService::$service,)*)*
                }
            }

            /// The action policies name, e.g. `iam:CreateRole`.
            pub fn policy_action(self) -> &'static str {
                match self {
                    $($(QueryAction::$name => concat!($prefix, ":", stringify!($name)),)*)*
                }
            }
        }
    };
}

query_actions! {
    Sts "sts" {
        GetCallerIdentity,
        AssumeRole,
    }
    Iam "iam" {
        CreateUser, GetUser, DeleteUser, ListUsers,
        CreateRole, GetRole, DeleteRole, ListRoles, UpdateAssumeRolePolicy,
        TagUser, TagRole, UntagUser, UntagRole, ListUserTags, ListRoleTags,
        PutUserPolicy, PutRolePolicy, GetUserPolicy, GetRolePolicy,
        DeleteUserPolicy, DeleteRolePolicy, ListUserPolicies, ListRolePolicies,
        CreatePolicy, GetPolicy, DeletePolicy, GetPolicyVersion, ListPolicies,
        AttachUserPolicy, AttachRolePolicy, DetachUserPolicy, DetachRolePolicy,
        ListAttachedUserPolicies, ListAttachedRolePolicies,
        ListInstanceProfilesForRole,
        PutUserPermissionsBoundary, PutRolePermissionsBoundary,
        DeleteUserPermissionsBoundary, DeleteRolePermissionsBoundary,
        CreateAccessKey, ListAccessKeys, DeleteAccessKey,
    }
}

impl QueryAction {
    /// The action named `name` of `service` (`None`: AWS's `InvalidAction`).
    pub fn parse(service: QueryService, name: &str) -> Option<QueryAction> {
        Self::ALL
            .iter()
            .copied()
            .find(|a| a.service() == service && a.name() == name)
    }

    /// `sts:TagSession`, checked besides `sts:AssumeRole` when the request has session tags.
    pub const TAG_SESSION: &'static str = "sts:TagSession";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_parse_per_service_and_name_their_policy_action() {
        assert_eq!(
            QueryAction::parse(QueryService::Iam, "CreateRole"),
            Some(QueryAction::CreateRole)
        );
        assert_eq!(QueryAction::CreateRole.policy_action(), "iam:CreateRole");
        assert_eq!(QueryAction::AssumeRole.policy_action(), "sts:AssumeRole");
        // An STS action is not an IAM one, and names are case-sensitive.
        assert_eq!(QueryAction::parse(QueryService::Iam, "AssumeRole"), None);
        assert_eq!(QueryAction::parse(QueryService::Iam, "createrole"), None);
        let mut names: Vec<_> = QueryAction::ALL.iter().map(|a| a.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), QueryAction::ALL.len());
    }
}
