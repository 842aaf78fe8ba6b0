//! STS through the real binary with `aws-sdk-sts`: GetCallerIdentity for config identities, and
//! AssumeRole across accounts (the role's trust policy names the other account, whose IAM must
//! allow sts:AssumeRole too), with the session's credentials then used with KMS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_credential_types::Credentials;

use crate::support::Server;

const CONFIG: &str = r#"
[[accounts]]
id = "111111111111"
[[accounts.users]]
name = "alice"
access_keys = [{ access_key_id = "AKIAALICE", secret_access_key = "alice-secret" }]
policies = [{ name = "assume", document = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::222222222222:role/*"}]}' }]
[[accounts.users]]
name = "bob"
access_keys = [{ access_key_id = "AKIABOB", secret_access_key = "bob-secret" }]

[[accounts]]
id = "222222222222"
access_keys = [{ access_key_id = "AKIAROOTB", secret_access_key = "root-b" }]
[[accounts.roles]]
name = "deployer"
path = "/ci/"
tags = { team = "blue" }
trust_policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"xyz"}}}]}'
policies = [{ name = "kms", document = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}' }]
"#;

fn sts(server: &Server, creds: Credentials) -> aws_sdk_sts::Client {
    let conf = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .endpoint_url(&server.endpoint)
        .credentials_provider(creds)
        .build();
    aws_sdk_sts::Client::from_conf(conf)
}

fn long_term(id: &str, secret: &str) -> Credentials {
    Credentials::new(id, secret, None, None, "test")
}

fn code_and_message<E, R>(e: aws_sdk_sts::error::SdkError<E, R>) -> (String, String)
where
    E: aws_sdk_sts::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    let se = e.as_service_error().expect("a service error");
    (
        se.code().unwrap_or_default().to_string(),
        se.message().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn cross_account_assume_role_and_kms_through_the_session() {
    let server = Server::start_with_config(CONFIG);
    let alice = sts(&server, long_term("AKIAALICE", "alice-secret"));
    let me = alice.get_caller_identity().send().await.unwrap();
    assert_eq!(me.arn(), Some("arn:aws:iam::111111111111:user/alice"));
    assert_eq!(me.account(), Some("111111111111"));
    assert!(me.user_id().unwrap().starts_with("AIDA"));
    assert_eq!(me.user_id().unwrap().len(), 21);

    let role_arn = "arn:aws:iam::222222222222:role/ci/deployer";
    // Without the external ID the trust policy's condition fails.
    let (code, message) = code_and_message(
        alice
            .assume_role()
            .role_arn(role_arn)
            .role_session_name("deploy")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "AccessDenied");
    assert_eq!(
        message,
        "User: arn:aws:iam::111111111111:user/alice is not authorized to perform: \
         sts:AssumeRole on resource: arn:aws:iam::222222222222:role/ci/deployer"
    );
    // Bob's account is trusted, but his own IAM does not allow sts:AssumeRole.
    let bob = sts(&server, long_term("AKIABOB", "bob-secret"));
    let (code, _) = code_and_message(
        bob.assume_role()
            .role_arn(role_arn)
            .role_session_name("deploy")
            .external_id("xyz")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "AccessDenied");
    // Out-of-range durations are validation errors.
    let (code, _) = code_and_message(
        alice
            .assume_role()
            .role_arn(role_arn)
            .role_session_name("deploy")
            .external_id("xyz")
            .duration_seconds(7200)
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "ValidationError");

    let out = alice
        .assume_role()
        .role_arn(role_arn)
        .role_session_name("deploy")
        .external_id("xyz")
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    assert!(c.access_key_id().starts_with("ASIA"));
    let user = out.assumed_role_user().unwrap();
    assert_eq!(
        user.arn(),
        "arn:aws:sts::222222222222:assumed-role/deployer/deploy"
    );
    assert!(user.assumed_role_id().starts_with("AROA"));
    assert!(user.assumed_role_id().ends_with(":deploy"));

    let session = Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "session",
    );
    let who = sts(&server, session.clone())
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        who.arn(),
        Some("arn:aws:sts::222222222222:assumed-role/deployer/deploy")
    );
    assert_eq!(who.account(), Some("222222222222"));

    // KMS with the session: a key of account 222222222222 (default key policy delegates to
    // the account's IAM, and the role's policy allows kms:*).
    let conf = aws_sdk_kms::Config::builder()
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .region(aws_sdk_kms::config::Region::new("us-east-1"))
        .endpoint_url(&server.endpoint)
        .credentials_provider(session)
        .build();
    let kms = aws_sdk_kms::Client::from_conf(conf);
    let key = kms.create_key().send().await.unwrap();
    assert_eq!(
        key.key_metadata().unwrap().aws_account_id(),
        Some("222222222222")
    );

    // A wrong session token is refused.
    let forged = Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some("TRENTforged".to_string()),
        None,
        "forged",
    );
    let (code, message) = code_and_message(
        sts(&server, forged)
            .get_caller_identity()
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(code, "InvalidClientTokenId");
    assert_eq!(
        message,
        "The security token included in the request is invalid."
    );
}
