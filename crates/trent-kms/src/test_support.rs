//! What the unit tests that drive the service through `Kms::call` share: a service on a store
//! and clock of the test's choice, the account root as caller, and a call with a JSON body.

use std::sync::Arc;

use serde_json::Value;
use trent_crypto::RootKey;
use trent_store::Store;

use crate::{AuthzMode, Caller, Clock, Directory, Kms, KmsError, Operation, Principal};

pub fn kms(store: Store, root: RootKey, clock: Arc<dyn Clock>) -> Kms {
    Kms::new(
        store,
        root,
        clock,
        Arc::new(Directory::new()),
        AuthzMode::Enforce,
    )
}

/// The root of account 111122223333 in us-east-1.
pub fn caller() -> Caller {
    Caller {
        principal: Principal::root("111122223333"),
        region: "us-east-1".into(),
        access_key_id: "AKIATEST".into(),
        source_ip: None,
        secure_transport: false,
        user_agent: None,
        via_service: None,
        request_id: String::new(),
    }
}

pub fn call(kms: &Kms, op: Operation, body: Value) -> Result<Value, KmsError> {
    call_in(kms, "us-east-1", op, body)
}

/// [`call`] by the same caller in another Region.
pub fn call_in(kms: &Kms, region: &str, op: Operation, body: Value) -> Result<Value, KmsError> {
    let caller = Caller {
        region: region.into(),
        ..caller()
    };
    kms.call(&caller, op, &serde_json::to_vec(&body).unwrap_or_default())
        .result
}
