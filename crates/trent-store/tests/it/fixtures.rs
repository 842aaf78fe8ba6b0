//! Records to store, with defaults that tests override field by field.

use trent_store::iam::{
    AccessKeyKind, AccessKeyRecord, AttachmentRecord, InlinePolicyRecord, ManagedPolicyRecord,
    OwnerKind, PolicyVersionRecord, RoleRecord, SessionRecord, UserRecord,
};
use trent_store::{
    Alias, GrantEnd, GrantEnding, GrantRecord, KeyManager, KeyMaterial, KeyRecord, KeyState, Tag,
};

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "111122223333";

pub fn key(id: &str) -> KeyRecord {
    KeyRecord {
        region: REGION.into(),
        key_id: id.into(),
        account: ACCOUNT.into(),
        created_ms: 1,
        description: String::new(),
        key_spec: "SYMMETRIC_DEFAULT".into(),
        key_usage: "ENCRYPT_DECRYPT".into(),
        origin: "AWS_KMS".into(),
        key_state: KeyState::Enabled,
        deletion_ms: None,
        pending_window_days: None,
        policy: "{}".into(),
        primary_region: None,
        current_material: 1,
        policy_principal_ids: None,
        rotation_period_days: None,
        next_rotation_ms: None,
        key_manager: KeyManager::Customer,
    }
}

pub fn key_in(region: &str, account: &str, id: &str) -> KeyRecord {
    KeyRecord {
        region: region.into(),
        account: account.into(),
        ..key(id)
    }
}

pub fn material() -> KeyMaterial {
    KeyMaterial::new(1, "m".into(), vec![1, 2, 3], 1)
}

pub fn tag(k: &str, v: &str) -> Tag {
    Tag {
        key: k.into(),
        value: v.into(),
    }
}

pub fn alias(name: &str, target: &str) -> Alias {
    Alias {
        region: REGION.into(),
        account: ACCOUNT.into(),
        alias_name: name.into(),
        target_key_id: target.into(),
        created_ms: 1,
        updated_ms: 1,
    }
}

pub fn grant(key_id: &str, id: &str, grantee: &str) -> GrantRecord {
    GrantRecord {
        region: REGION.into(),
        key_id: key_id.into(),
        grant_id: id.into(),
        name: None,
        created_ms: 1,
        grantee_principal: Some(grantee.into()),
        grantee_service_principal: None,
        retiring_principal: None,
        retiring_service_principal: None,
        issuing_account: "arn:aws:iam::111122223333:root".into(),
        operations: vec!["Decrypt".into()],
        constraints: None,
        grantee_unique_id: None,
        retiring_unique_id: None,
        created_by: Some("arn:aws:iam::111122223333:user/granter".into()),
        created_request_id: Some(format!("request-{id}")),
    }
}

/// How a test ends a grant: retired by `grantee`'s retiring principal at 5.
pub fn retired() -> GrantEnding {
    GrantEnding {
        how: GrantEnd::Retired,
        by: "arn:aws:iam::111122223333:user/retirer".into(),
        at_ms: 5,
        request_id: Some("request-retire".into()),
    }
}

pub fn user(name: &str, unique_id: &str) -> UserRecord {
    UserRecord {
        account: ACCOUNT.into(),
        name: name.into(),
        path: "/".into(),
        unique_id: unique_id.into(),
        created_ms: 1,
        tags: vec![("team".into(), "a".into())],
        permissions_boundary: Some(format!("arn:aws:iam::{ACCOUNT}:policy/boundary")),
    }
}

pub fn role(name: &str, unique_id: &str) -> RoleRecord {
    RoleRecord {
        account: ACCOUNT.into(),
        name: name.into(),
        path: "/".into(),
        unique_id: unique_id.into(),
        created_ms: 1,
        tags: Vec::new(),
        trust_policy: None,
        max_session_duration: 3600,
        description: Some("a role".into()),
        permissions_boundary: None,
    }
}

pub fn managed_policy(name: &str, unique_id: &str) -> ManagedPolicyRecord {
    ManagedPolicyRecord {
        account: ACCOUNT.into(),
        name: name.into(),
        path: "/".into(),
        unique_id: unique_id.into(),
        created_ms: 1,
        updated_ms: 1,
        description: None,
        default_version: "v2".into(),
        versions: vec![
            PolicyVersionRecord {
                version_id: "v2".into(),
                document: "{\"v\":2}".into(),
                created_ms: 2,
            },
            PolicyVersionRecord {
                version_id: "v1".into(),
                document: "{\"v\":1}".into(),
                created_ms: 1,
            },
        ],
    }
}

pub fn inline(
    owner: OwnerKind,
    owner_name: &str,
    name: &str,
    document: &str,
) -> InlinePolicyRecord {
    InlinePolicyRecord {
        account: ACCOUNT.into(),
        owner,
        owner_name: owner_name.into(),
        name: name.into(),
        document: document.into(),
    }
}

pub fn attachment(owner: OwnerKind, owner_name: &str, policy_arn: &str) -> AttachmentRecord {
    AttachmentRecord {
        account: ACCOUNT.into(),
        owner,
        owner_name: owner_name.into(),
        policy_arn: policy_arn.into(),
    }
}

pub fn access_key(id: &str, kind: AccessKeyKind, owner_name: &str) -> AccessKeyRecord<Vec<u8>> {
    AccessKeyRecord {
        access_key_id: id.into(),
        account: ACCOUNT.into(),
        kind,
        owner_name: owner_name.into(),
        session_name: None,
        via_service: None,
        acts_for: None,
        secret: vec![9, 9],
        active: true,
        created_ms: 1,
    }
}

pub fn session(id: &str, role_name: &str, expires_ms: i64) -> SessionRecord<Vec<u8>> {
    SessionRecord {
        access_key_id: id.into(),
        secret: vec![7],
        account: ACCOUNT.into(),
        role_name: role_name.into(),
        role_unique_id: "AROA1".into(),
        session_name: "s".into(),
        created_ms: expires_ms - 1000,
        expires_ms,
        tags: vec![("k".into(), "v".into())],
        session_policy: Some("{}".into()),
        policy_arns: vec!["arn:aws:iam::aws:policy/P".into()],
        source_arn: "arn:aws:iam::111122223333:user/u".into(),
    }
}
