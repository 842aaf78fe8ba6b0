//! Which condition keys carry one value and which a set (AWS's global condition keys and
//! KMS's service keys, as documented). Set operators (`ForAllValues:`/`ForAnyValue:`) are for
//! multi-valued keys only; on a single-valued key `ForAllValues:` is true when the key is
//! absent, which is why KMS rejects it for the per-key families and why `trent lint` reports it
//! elsewhere. The one catalogue: the parser's KMS check and the analysers both read it.

/// How many values a condition key carries in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyValues {
    Single,
    Multi,
}

/// Families of single-valued keys, one per tag key or context key (folded, with the separator).
pub(crate) const ENCRYPTION_CONTEXT_PREFIX: &str = "kms:encryptioncontext:";
pub(crate) const REQUEST_TAG_PREFIX: &str = "aws:requesttag/";

const SINGLE_PREFIXES: &[&str] = &[
    ENCRYPTION_CONTEXT_PREFIX,
    REQUEST_TAG_PREFIX,
    "aws:resourcetag/",
    "aws:principaltag/",
    "kms:recipientattestation:",
];

/// Folded names of the multi-valued keys.
const MULTI: &[&str] = &[
    "aws:calledvia",
    "aws:principalorgpaths",
    "aws:principalservicenameslist",
    "aws:resourceorgpaths",
    "aws:sourceorgpaths",
    "aws:tagkeys",
    "kms:encryptioncontextkeys",
    "kms:grantoperations",
    "kms:resourcealiases",
];

/// Folded names of the single-valued keys outside the families above.
const SINGLE: &[&str] = &[
    "aws:calledviafirst",
    "aws:calledvialast",
    "aws:currenttime",
    "aws:epochtime",
    "aws:federatedprovider",
    "aws:multifactorauthage",
    "aws:multifactorauthpresent",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalisawsservice",
    "aws:principalorgid",
    "aws:principalservicename",
    "aws:principaltype",
    "aws:referer",
    "aws:requestedregion",
    "aws:resourceaccount",
    "aws:resourceorgid",
    "aws:securetransport",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceidentity",
    "aws:sourceip",
    "aws:sourceorgid",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:tokenissuetime",
    "aws:useragent",
    "aws:userid",
    "aws:username",
    "aws:viaawsservice",
    "aws:vpcsourceip",
    "kms:bypasspolicylockoutsafetycheck",
    "kms:calleraccount",
    "kms:customermasterkeyspec",
    "kms:customermasterkeyusage",
    "kms:datakeypairspec",
    "kms:encryptionalgorithm",
    "kms:expirationmodel",
    "kms:granteeprincipal",
    "kms:grantisforawsresource",
    "kms:importtype",
    "kms:keyagreementalgorithm",
    "kms:keyorigin",
    "kms:keyspec",
    "kms:keyusage",
    "kms:macalgorithm",
    "kms:messagetype",
    "kms:multiregion",
    "kms:multiregionkeytype",
    "kms:primaryregion",
    "kms:reencryptondestination",
    "kms:replicaregion",
    "kms:requestalias",
    "kms:retiringprincipal",
    "kms:rotationperiodindays",
    "kms:schedulekeydeletionpendingwindowindays",
    "kms:signingalgorithm",
    "kms:validto",
    "kms:viaservice",
    "kms:wrappingalgorithm",
    "kms:wrappingkeyspec",
];

/// Whether `key` (any case) is single- or multi-valued; `None` for a key not catalogued.
pub fn key_values(key: &str) -> Option<KeyValues> {
    let folded = crate::context::fold_key(key);
    if MULTI.contains(&folded.as_str()) {
        Some(KeyValues::Multi)
    } else if SINGLE.contains(&folded.as_str())
        || SINGLE_PREFIXES.iter().any(|p| folded.starts_with(p))
    {
        Some(KeyValues::Single)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_examples() {
        for k in [
            "kms:GrantOperations",
            "kms:EncryptionContextKeys",
            "aws:TagKeys",
            "aws:PrincipalOrgPaths",
        ] {
            assert_eq!(key_values(k), Some(KeyValues::Multi), "{k}");
        }
        for k in [
            "kms:CallerAccount",
            "kms:ViaService",
            "aws:PrincipalArn",
            "aws:SourceVpc",
            "kms:EncryptionContext:AppName",
            "aws:RequestTag/Project",
            "AWS:PrincipalTag/team",
        ] {
            assert_eq!(key_values(k), Some(KeyValues::Single), "{k}");
        }
        assert_eq!(key_values("example:Unknown"), None);
    }

    #[test]
    fn lists_are_folded_sorted_and_disjoint() {
        for list in [MULTI, SINGLE, SINGLE_PREFIXES] {
            for k in list {
                assert_eq!(*k, k.to_lowercase(), "{k} must be folded");
            }
        }
        for list in [MULTI, SINGLE] {
            assert!(
                list.windows(2).all(|w| w[0] < w[1]),
                "sorted, no duplicates"
            );
        }
        assert!(MULTI.iter().all(|k| !SINGLE.contains(k)));
    }
}
