#!/usr/bin/env bash
# End-to-end test with the `aws` CLI (v1): principals are matched by unique ID, as in AWS. A role
# deleted and recreated with the same name is a different principal: the key-policy statement
# and the grant that named the old role do not let the new role's sessions in; the old role's
# sessions are refused anyway. Setting the policy again (or a new grant) names the new role. The
# same for a user deleted and recreated. An account root cannot assume roles.
#
#   PATH="$PWD/.venv/bin:$PATH" TRENT_BIN=target/debug/trent tests/e2e/recreated_role.sh
set -euo pipefail
# shellcheck source=tests/e2e/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

account=000000000000
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1

a() { aws --endpoint-url "$endpoint" "$@"; }
field() { # json-file python-expression-on-d
    python3 -c "import json,sys;d=json.load(open(sys.argv[1]));print($2)" "$1"
}
as_root() {
    export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
    unset AWS_SESSION_TOKEN
}
as_ops() {
    export AWS_ACCESS_KEY_ID=$ops_key AWS_SECRET_ACCESS_KEY=$ops_secret
    unset AWS_SESSION_TOKEN
}
use_credentials() { # json-file
    AWS_ACCESS_KEY_ID=$(field "$1" 'd["Credentials"]["AccessKeyId"]')
    AWS_SECRET_ACCESS_KEY=$(field "$1" 'd["Credentials"]["SecretAccessKey"]')
    AWS_SESSION_TOKEN=$(field "$1" 'd["Credentials"]["SessionToken"]')
    export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
}

trust_root='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]}'
role_arn="arn:aws:iam::$account:role/app"
# The account root may administer the key and encrypt; only the role statement allows
# DescribeKey, and only the grant allows Decrypt.
key_policy='{"Version":"2012-10-17","Statement":[{"Sid":"admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":["kms:PutKeyPolicy","kms:GetKeyPolicy","kms:CreateGrant","kms:ListGrants","kms:RevokeGrant","kms:Encrypt"],"Resource":"*"},{"Sid":"role","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:role/app"},"Action":"kms:DescribeKey","Resource":"*"}]}'

step "start the server; a user that assumes roles, a role without identity policies"
start_server "$work/data"
a iam create-user --user-name ops >/dev/null
a iam put-user-policy --user-name ops --policy-name assume \
    --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}'
a iam create-access-key --user-name ops >"$work/ops.json"
ops_key=$(field "$work/ops.json" 'd["AccessKey"]["AccessKeyId"]')
ops_secret=$(field "$work/ops.json" 'd["AccessKey"]["SecretAccessKey"]')
old_id=$(a iam create-role --role-name app --assume-role-policy-document "$trust_root" \
    --query Role.RoleId --output text)

step "the account root cannot assume the role"
rc=0
a sts assume-role --role-arn "$role_arn" --role-session-name s1 >/dev/null 2>"$work/root.err" || rc=$?
expect_eq "root assume-role exit status" 255 "$rc"
expect_eq "root assume-role error" \
    "An error occurred (AccessDenied) when calling the AssumeRole operation: Roles may not be assumed by root accounts." \
    "$(grep -v '^$' "$work/root.err")"

step "a key whose policy names the role, a grant to the role"
key_id=$(a kms create-key --policy "$key_policy" --query KeyMetadata.KeyId --output text)
key_arn="arn:aws:kms:us-east-1:$account:key/$key_id"
expect_eq "policy stored byte for byte" "$key_policy" \
    "$(a kms get-key-policy --key-id "$key_id" --policy-name default --query Policy --output text)"
grant_id=$(a kms create-grant --key-id "$key_id" --grantee-principal "$role_arn" \
    --operations Decrypt --query GrantId --output text)
printf hello >"$work/plain"
a kms encrypt --key-id "$key_id" --plaintext "fileb://$work/plain" --query CiphertextBlob --output text |
    base64 -d >"$work/blob"

step "a session of the role: the policy statement and the grant let it in"
as_ops
a sts assume-role --role-arn "$role_arn" --role-session-name old >"$work/old.json"
use_credentials "$work/old.json"
expect_eq "describe through the key policy" "$key_id" \
    "$(a kms describe-key --key-id "$key_id" --query KeyMetadata.KeyId --output text)"
expect_eq "decrypt through the grant" "aGVsbG8=" \
    "$(a kms decrypt --ciphertext-blob "fileb://$work/blob" --query Plaintext --output text)"

step "delete the role and create it again with the same name"
as_root
a iam delete-role --role-name app
expect_eq "a deleted grantee is shown by its unique ID" "$old_id" \
    "$(a kms list-grants --key-id "$key_id" --query 'Grants[0].GranteePrincipal' --output text)"
new_id=$(a iam create-role --role-name app --assume-role-policy-document "$trust_root" \
    --query Role.RoleId --output text)
[[ "$new_id" != "$old_id" ]] || fail "the recreated role has the old unique id"
use_credentials "$work/old.json"
rc=0
a sts get-caller-identity >/dev/null 2>&1 || rc=$?
expect_eq "the old role's session is refused" 255 "$rc"
rc=0
a kms describe-key --key-id "$key_id" >/dev/null 2>&1 || rc=$?
expect_eq "the old role's session is refused by KMS" 255 "$rc"

step "a session of the new role: neither the statement nor the grant names it"
as_ops
a sts assume-role --role-arn "$role_arn" --role-session-name new >"$work/new.json"
use_credentials "$work/new.json"
expect_eq "new session" "arn:aws:sts::$account:assumed-role/app/new	$new_id:new" \
    "$(a sts get-caller-identity --query '[Arn,UserId]' --output text)"
expect_kms_error AccessDeniedException \
    "User: arn:aws:sts::$account:assumed-role/app/new is not authorized to perform: kms:DescribeKey on resource: $key_arn because no resource-based policy allows the kms:DescribeKey action" \
    describe-key --key-id "$key_id"
expect_kms_error AccessDeniedException \
    "User: arn:aws:sts::$account:assumed-role/app/new is not authorized to perform: kms:Decrypt on resource: $key_arn because no resource-based policy allows the kms:Decrypt action" \
    decrypt --ciphertext-blob "fileb://$work/blob"

step "ListGrants shows the grantee's ARN again once a role of that name exists"
as_root
expect_eq "grantee" "$grant_id	$role_arn" \
    "$(a kms list-grants --key-id "$key_id" --query 'Grants[0].[GrantId,GranteePrincipal]' --output text)"

step "the old grant and policy survive a restart and still do not name the new role"
kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=""
start_server "$work/data"
use_credentials "$work/new.json"
expect_kms_error AccessDeniedException \
    "User: arn:aws:sts::$account:assumed-role/app/new is not authorized to perform: kms:Decrypt on resource: $key_arn because no resource-based policy allows the kms:Decrypt action" \
    decrypt --ciphertext-blob "fileb://$work/blob"

step "putting the policy again and a new grant name the new role"
as_root
a kms put-key-policy --key-id "$key_id" --policy-name default --policy "$key_policy"
a kms create-grant --key-id "$key_id" --grantee-principal "$role_arn" --operations Decrypt >/dev/null
use_credentials "$work/new.json"
expect_eq "describe through the key policy" "$key_id" \
    "$(a kms describe-key --key-id "$key_id" --query KeyMetadata.KeyId --output text)"
expect_eq "decrypt through the new grant" "aGVsbG8=" \
    "$(a kms decrypt --ciphertext-blob "fileb://$work/blob" --query Plaintext --output text)"

step "the same for a user: a recreated user is not the user the policy and the grant named"
as_root
a iam create-user --user-name carol >/dev/null
a iam create-access-key --user-name carol >"$work/carol1.json"
user_policy='{"Version":"2012-10-17","Statement":[{"Sid":"admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":["kms:PutKeyPolicy","kms:CreateGrant","kms:Encrypt"],"Resource":"*"},{"Sid":"carol","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/carol"},"Action":"kms:DescribeKey","Resource":"*"}]}'
key2=$(a kms create-key --policy "$user_policy" --query KeyMetadata.KeyId --output text)
a kms create-grant --key-id "$key2" --grantee-principal "arn:aws:iam::$account:user/carol" \
    --operations Decrypt >/dev/null
a kms encrypt --key-id "$key2" --plaintext "fileb://$work/plain" --query CiphertextBlob --output text |
    base64 -d >"$work/blob2"
AWS_ACCESS_KEY_ID=$(field "$work/carol1.json" 'd["AccessKey"]["AccessKeyId"]')
AWS_SECRET_ACCESS_KEY=$(field "$work/carol1.json" 'd["AccessKey"]["SecretAccessKey"]')
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
expect_eq "carol describes through the key policy" "$key2" \
    "$(a kms describe-key --key-id "$key2" --query KeyMetadata.KeyId --output text)"
expect_eq "carol decrypts through the grant" "aGVsbG8=" \
    "$(a kms decrypt --ciphertext-blob "fileb://$work/blob2" --query Plaintext --output text)"
as_root
a iam delete-access-key --user-name carol --access-key-id "$(field "$work/carol1.json" 'd["AccessKey"]["AccessKeyId"]')"
a iam delete-user --user-name carol
a iam create-user --user-name carol >/dev/null
a iam create-access-key --user-name carol >"$work/carol2.json"
AWS_ACCESS_KEY_ID=$(field "$work/carol2.json" 'd["AccessKey"]["AccessKeyId"]')
AWS_SECRET_ACCESS_KEY=$(field "$work/carol2.json" 'd["AccessKey"]["SecretAccessKey"]')
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
key2_arn="arn:aws:kms:us-east-1:$account:key/$key2"
expect_kms_error AccessDeniedException \
    "User: arn:aws:iam::$account:user/carol is not authorized to perform: kms:DescribeKey on resource: $key2_arn because no resource-based policy allows the kms:DescribeKey action" \
    describe-key --key-id "$key2"
expect_kms_error AccessDeniedException \
    "User: arn:aws:iam::$account:user/carol is not authorized to perform: kms:Decrypt on resource: $key2_arn because no resource-based policy allows the kms:Decrypt action" \
    decrypt --ciphertext-blob "fileb://$work/blob2"

echo "OK"
