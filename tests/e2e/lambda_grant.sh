#!/usr/bin/env bash
# The Lambda environment-variable scenario with the `aws` CLI (README, "Worked example"): a role
# uses a key although neither its IAM policy nor the key policy allows it, because a grant does;
# after the grant is retired, AWS's exact AccessDenied message.
set -euo pipefail
# shellcheck source=tests/e2e/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

account=012345678901
region=ap-northeast-1
session_arn="arn:aws:sts::$account:assumed-role/test-role-cu5o193j/test"
function_arn="arn:aws:lambda:$region:$account:function:test"
context="aws:lambda:FunctionArn=$function_arn"

cat >"$work/trent.toml" <<TOML
[[accounts]]
id = "$account"

[[accounts.roles]]
name = "my-role"
policies = [{ name = "admin", document = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}' }]
sessions = [{ name = "admin", access_key_id = "ASIAMYROLE", secret_access_key = "admin-secret" }]

[[accounts.roles]]
name = "test-role-cu5o193j"
policies = [{ name = "logs", document = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}' }]
sessions = [{ name = "test", access_key_id = "ASIAFUNCTION", secret_access_key = "function-secret" }]

[[service_callers]]
service = "lambda.amazonaws.com"
acts_for = "arn:aws:sts::$account:assumed-role/my-role/admin"
access_key_id = "AKIALAMBDA"
secret_access_key = "lambda-secret"
TOML

as_admin() { AWS_ACCESS_KEY_ID=ASIAMYROLE AWS_SECRET_ACCESS_KEY=admin-secret "$@"; }
as_function() { AWS_ACCESS_KEY_ID=ASIAFUNCTION AWS_SECRET_ACCESS_KEY=function-secret "$@"; }
as_lambda() { AWS_ACCESS_KEY_ID=AKIALAMBDA AWS_SECRET_ACCESS_KEY=lambda-secret "$@"; }
export AWS_DEFAULT_REGION=$region
kms() { aws --endpoint-url "$endpoint" kms "$@"; }

step "start the server with the scenario's identities"
start_server "$work/data" "$work/trent.toml"

step "a key whose policy names only my-role"
policy='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::012345678901:role/my-role"},"Action":"kms:*","Resource":"*"}]}'
key_id=$(as_admin kms create-key --policy "$policy" --query KeyMetadata.KeyId --output text)
key_arn="arn:aws:kms:$region:$account:key/$key_id"
expect_eq "list-grants on a new key" '{
    "Grants": []
}' "$(as_admin kms list-grants --key-id "$key_id")"

step "Lambda, acting for my-role, grants the function's session Decrypt"
grant_name="test/6c2f1c7e-0d7b-4a57-9a4e-2f3b1b6c9d10"
grant_id=$(as_lambda kms create-grant --key-id "$key_id" --name "$grant_name" \
    --grantee-principal "$session_arn" --retiring-principal "lambda.$region.amazonaws.com" \
    --operations Decrypt RetireGrant \
    --constraints "{\"EncryptionContextEquals\":{\"aws:lambda:FunctionArn\":\"$function_arn\"}}" \
    --query GrantId --output text)
[[ "$grant_id" =~ ^[0-9a-f]{64}$ ]] || fail "GrantId is not 64 hex digits: $grant_id"

step "list-grants shows the grant field for field"
listed=$(as_admin kms list-grants --key-id "$key_id" --output json)
expect_eq "grant fields" \
    "$key_arn|$grant_id|$grant_name|$session_arn|lambda.$region.amazonaws.com|arn:aws:iam::$account:root|Decrypt,RetireGrant|$function_arn" \
    "$(python3 -c 'import json,sys
g = json.load(sys.stdin)["Grants"][0]
assert isinstance(g["CreationDate"], (int, float)), g
print("|".join([g["KeyId"], g["GrantId"], g["Name"], g["GranteePrincipal"], g["RetiringPrincipal"],
    g["IssuingAccount"], ",".join(g["Operations"]),
    g["Constraints"]["EncryptionContextEquals"]["aws:lambda:FunctionArn"]]))' <<<"$listed")"

step "encrypt a value with the function's context"
printf 'db-password' >"$work/value.txt"
as_admin kms encrypt --key-id "$key_id" --plaintext "fileb://$work/value.txt" \
    --encryption-context "$context" --query CiphertextBlob --output text |
    base64 --decode >"$work/value.bin"

step "the function's session decrypts: the grant allows it"
expect_eq "decrypted value" "db-password" \
    "$(as_function kms decrypt --ciphertext-blob "fileb://$work/value.bin" \
        --encryption-context "$context" --query Plaintext --output text | base64 --decode)"
denied_prefix="User: $session_arn is not authorized to perform: kms:Decrypt on resource: $key_arn"
as_function expect_kms_error AccessDeniedException \
    "$denied_prefix because no identity-based policy allows the kms:Decrypt action" \
    decrypt --ciphertext-blob "fileb://$work/value.bin"
as_function expect_kms_error AccessDeniedException \
    "$denied_prefix because no identity-based policy allows the kms:Decrypt action" \
    decrypt --ciphertext-blob "fileb://$work/value.bin" \
    --encryption-context "aws:lambda:FunctionArn=$function_arn-other"

step "my-role retires the grant"
expect_eq "retire-grant output" "" \
    "$(as_admin kms retire-grant --key-id "$key_arn" --grant-id "$grant_id")"
expect_eq "list-grants after retirement" '{
    "Grants": []
}' "$(as_admin kms list-grants --key-id "$key_id")"

step "the function's session is denied, with AWS's exact message"
as_function expect_kms_error AccessDeniedException \
    "$denied_prefix because no resource-based policy allows the kms:Decrypt action" \
    decrypt --ciphertext-blob "fileb://$work/value.bin" --encryption-context "$context"
echo "OK"
