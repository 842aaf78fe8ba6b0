//! Operations as data: the `X-Amz-Target` is parsed into an [`Operation`] before dispatch, and
//! that value is what dispatch, audit and authorization see.

macro_rules! operations {
    ($($name:ident),* $(,)?) => {
        /// Every operation of the KMS API model (`TrentService`, 2014-11-01).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operation { $($name),* }

        impl Operation {
            pub const ALL: &'static [Operation] = &[$(Operation::$name),*];

            /// The operation's API name, e.g. `"Encrypt"`.
            pub fn name(self) -> &'static str {
                match self { $(Operation::$name => stringify!($name)),* }
            }

            /// Parses an operation name (the part of the target after `TrentService.`).
            pub fn from_name(name: &str) -> Option<Operation> {
                match name { $(stringify!($name) => Some(Operation::$name),)* _ => None }
            }
        }
    };
}

operations!(
    CancelKeyDeletion,
    ConnectCustomKeyStore,
    CreateAlias,
    CreateCustomKeyStore,
    CreateGrant,
    CreateKey,
    Decrypt,
    DeleteAlias,
    DeleteCustomKeyStore,
    DeleteImportedKeyMaterial,
    DeriveSharedSecret,
    DescribeCustomKeyStores,
    DescribeKey,
    DisableKey,
    DisableKeyRotation,
    DisconnectCustomKeyStore,
    EnableKey,
    EnableKeyRotation,
    Encrypt,
    GenerateDataKey,
    GenerateDataKeyPair,
    GenerateDataKeyPairWithoutPlaintext,
    GenerateDataKeyWithoutPlaintext,
    GenerateMac,
    GenerateRandom,
    GetKeyLastUsage,
    GetKeyPolicy,
    GetKeyRotationStatus,
    GetParametersForImport,
    GetPublicKey,
    ImportKeyMaterial,
    ListAliases,
    ListGrants,
    ListKeyPolicies,
    ListKeyRotations,
    ListKeys,
    ListResourceTags,
    ListRetirableGrants,
    PutKeyPolicy,
    ReEncrypt,
    ReplicateKey,
    RetireGrant,
    RevokeGrant,
    RotateKeyOnDemand,
    ScheduleKeyDeletion,
    Sign,
    TagResource,
    UntagResource,
    UpdateAlias,
    UpdateCustomKeyStore,
    UpdateKeyDescription,
    UpdatePrimaryRegion,
    Verify,
    VerifyMac,
);

/// The JSON 1.1 target prefix of KMS.
pub const TARGET_PREFIX: &str = "TrentService.";

impl Operation {
    /// Parses a full `X-Amz-Target` header value such as `TrentService.Encrypt`.
    pub fn from_target(target: &str) -> Option<Operation> {
        target
            .strip_prefix(TARGET_PREFIX)
            .and_then(Operation::from_name)
    }

    /// Operations that only read state (CloudTrail's `readOnly`).
    pub fn is_read_only(self) -> bool {
        use Operation::*;
        matches!(
            self,
            DescribeCustomKeyStores
                | DescribeKey
                | GetKeyLastUsage
                | GetKeyPolicy
                | GetKeyRotationStatus
                | GetPublicKey
                | ListAliases
                | ListGrants
                | ListKeyPolicies
                | ListKeyRotations
                | ListKeys
                | ListResourceTags
                | ListRetirableGrants
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_name(op.name()), Some(*op));
            let target = format!("{TARGET_PREFIX}{}", op.name());
            assert_eq!(Operation::from_target(&target), Some(*op));
        }
        assert_eq!(Operation::ALL.len(), 54);
        assert_eq!(Operation::from_target("TrentService.encrypt"), None);
        assert_eq!(Operation::from_target("Encrypt"), None);
    }
}
