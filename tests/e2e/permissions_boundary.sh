#!/usr/bin/env bash
# End-to-end test, with the `aws` CLI (v1), of permissions boundaries: set through IAM
# (CreateUser/CreateRole `--permissions-boundary`, Put/Delete{User,Role}PermissionsBoundary),
# shown by GetUser/GetRole/GetPolicy (not by ListUsers/ListRoles), enforced by the authorizer on
# KMS requests as AWS documents them (a boundary caps identity-policy allows; a key-policy
# statement naming the user's own ARN stands beyond it; a statement naming a role reaches its
# sessions only within the role's boundary), explained by `trent explain`, kept across a
# restart, and refused with IAM's errors for bad input, leaving nothing changed.
#
#   PATH="$PWD/.venv/bin:$PATH" TRENT_BIN=target/debug/trent tests/e2e/permissions_boundary.sh
set -euo pipefail
# shellcheck source=tests/e2e/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

account=000000000000
export AWS_DEFAULT_REGION=us-east-1
a() { aws --endpoint-url "$endpoint" "$@"; }
explain() { "$TRENT_BIN" explain --endpoint-url "$endpoint" "$@"; }
as_root() { export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test; unset AWS_SESSION_TOKEN; }
as_app() { export AWS_ACCESS_KEY_ID=$app_key AWS_SECRET_ACCESS_KEY=$app_secret; }

app_arn="arn:aws:iam::$account:user/app"
boundary_arn="arn:aws:iam::$account:policy/encrypt-only"
everything='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}'
encrypt_only='{"Version":"2012-10-17","Statement":[{"Sid":"EncryptOnly","Effect":"Allow","Action":["kms:Encrypt","kms:DescribeKey"],"Resource":"*"}]}'
trust='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]}'

start_server "$work/data"
as_root

step "the root creates a boundary policy, a user allowed kms:* by its identity policy, and a key"
a iam create-policy --policy-name encrypt-only --policy-document "$encrypt_only" >/dev/null
a iam create-user --user-name app >/dev/null
a iam put-user-policy --user-name app --policy-name everything --policy-document "$everything"
a iam create-access-key --user-name app >"$work/app.json"
app_key=$(field "$work/app.json" 'd["AccessKey"]["AccessKeyId"]')
app_secret=$(field "$work/app.json" 'd["AccessKey"]["SecretAccessKey"]')
key=$(a kms create-key --query KeyMetadata.KeyId --output text)
key_arn="arn:aws:kms:us-east-1:$account:key/$key"
printf hello >"$work/plain.bin"
a kms encrypt --key-id "$key" --plaintext "fileb://$work/plain.bin" --query CiphertextBlob \
    --output text | base64 -d >"$work/cipher.bin"
blob="fileb://$work/cipher.bin"

step "without a boundary the identity policy lets app decrypt"
as_app
expect_eq "Decrypt" "aGVsbG8=" \
    "$(a kms decrypt --ciphertext-blob "$blob" --query Plaintext --output text)"

step "bad boundaries are refused and change nothing"
as_root
expect_aws_error NoSuchEntity \
    "Scope ARN: arn:aws:iam::$account:policy/nope does not exist or is not attachable." \
    iam put-user-permissions-boundary --user-name app \
    --permissions-boundary "arn:aws:iam::$account:policy/nope"
# Trent has no AWS managed policies.
expect_aws_error NoSuchEntity \
    "Scope ARN: arn:aws:iam::aws:policy/AdministratorAccess does not exist or is not attachable." \
    iam put-user-permissions-boundary --user-name app \
    --permissions-boundary arn:aws:iam::aws:policy/AdministratorAccess
expect_aws_error NoSuchEntity "The user with name ghost cannot be found." \
    iam put-user-permissions-boundary --user-name ghost --permissions-boundary "$boundary_arn"
expect_aws_error NoSuchEntity \
    "Scope ARN: arn:aws:iam::$account:policy/nope does not exist or is not attachable." \
    iam create-user --user-name never --permissions-boundary "arn:aws:iam::$account:policy/nope"
expect_aws_error NoSuchEntity "The user with name never cannot be found." iam get-user --user-name never
expect_eq "app has no boundary yet" "None" \
    "$(a iam get-user --user-name app --query User.PermissionsBoundary --output text)"

step "PutUserPermissionsBoundary: GetUser and GetPolicy show it, ListUsers does not"
a iam put-user-permissions-boundary --user-name app --permissions-boundary "$boundary_arn"
expect_eq "GetUser's boundary" "$boundary_arn	Policy" \
    "$(a iam get-user --user-name app \
        --query 'User.PermissionsBoundary.[PermissionsBoundaryArn,PermissionsBoundaryType]' \
        --output text)"
expect_eq "ListUsers leaves the boundary out" "None" \
    "$(a iam list-users --query 'Users[0].PermissionsBoundary' --output text)"
expect_eq "PermissionsBoundaryUsageCount" "1" \
    "$(a iam get-policy --policy-arn "$boundary_arn" \
        --query Policy.PermissionsBoundaryUsageCount --output text)"
expect_aws_error DeleteConflict "Cannot delete a policy attached to entities." \
    iam delete-policy --policy-arn "$boundary_arn"

step "the boundary caps the identity policy: Encrypt is in it, Decrypt is not"
as_app
a kms encrypt --key-id "$key" --plaintext "fileb://$work/plain.bin" >/dev/null
expect_kms_error AccessDeniedException \
    "User: $app_arn is not authorized to perform: kms:Decrypt on resource: $key_arn because no permissions boundary allows the kms:Decrypt action" \
    decrypt --ciphertext-blob "$blob"

step "trent explain names the boundary"
as_root
rc=0
explain --as "$app_arn" --action kms:Decrypt --key "$key" >"$work/denied.txt" || rc=$?
expect_eq "exit status of a denied explanation" 1 "$rc"
grep -q 'guardrails: no permissions boundary allows kms:Decrypt' "$work/denied.txt" ||
    fail "the boundary is not named: $(cat "$work/denied.txt")"
grep -q 'identity policies: an identity policy allows kms:Decrypt, but no permissions boundary does' \
    "$work/denied.txt" || fail "the identity side is misdescribed: $(cat "$work/denied.txt")"
grep -q 'permissions boundary "encrypt-only": does not allow' "$work/denied.txt" ||
    fail "the boundary's evaluation is not shown: $(cat "$work/denied.txt")"
explain --as "$app_arn" --action kms:Encrypt --key "$key" >"$work/allowed.txt"
grep -q 'permissions boundary "encrypt-only": allows' "$work/allowed.txt" ||
    fail "the boundary's allow is not shown: $(cat "$work/allowed.txt")"

step "a key-policy statement naming app's own ARN stands beyond the boundary"
policy=$(cat <<EOF
{"Version":"2012-10-17","Statement":[
 {"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::$account:root"},"Action":"kms:*","Resource":"*"},
 {"Sid":"AppDecrypts","Effect":"Allow","Principal":{"AWS":"$app_arn"},"Action":"kms:Decrypt","Resource":"*"}]}
EOF
)
a kms put-key-policy --key-id "$key" --policy-name default --policy "$policy"
as_app
expect_eq "Decrypt through the key policy" "aGVsbG8=" \
    "$(a kms decrypt --ciphertext-blob "$blob" --query Plaintext --output text)"

step "a role's boundary limits its sessions, even where the key policy names the role"
as_root
a iam create-role --role-name worker --assume-role-policy-document "$trust" \
    --permissions-boundary "$boundary_arn" >/dev/null
a iam put-role-policy --role-name worker --policy-name everything --policy-document "$everything"
expect_eq "GetRole's boundary" "$boundary_arn" \
    "$(a iam get-role --role-name worker \
        --query 'Role.PermissionsBoundary.PermissionsBoundaryArn' --output text)"
expect_eq "ListRoles leaves the boundary out" "None" \
    "$(a iam list-roles --query 'Roles[?RoleName==`worker`].PermissionsBoundary | [0]' --output text)"
policy=$(cat <<EOF
{"Version":"2012-10-17","Statement":[
 {"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::$account:root"},"Action":"kms:*","Resource":"*"},
 {"Sid":"WorkerDecrypts","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::$account:role/worker"},"Action":"kms:Decrypt","Resource":"*"}]}
EOF
)
a kms put-key-policy --key-id "$key" --policy-name default --policy "$policy"
# The root user may not assume roles: a user without a boundary does.
assume='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}'
a iam create-user --user-name assumer >/dev/null
a iam put-user-policy --user-name assumer --policy-name assume --policy-document "$assume"
a iam create-access-key --user-name assumer >"$work/assumer.json"
export AWS_ACCESS_KEY_ID=$(field "$work/assumer.json" 'd["AccessKey"]["AccessKeyId"]')
export AWS_SECRET_ACCESS_KEY=$(field "$work/assumer.json" 'd["AccessKey"]["SecretAccessKey"]')
a sts assume-role --role-arn "arn:aws:iam::$account:role/worker" --role-session-name s1 \
    >"$work/session.json"
export AWS_ACCESS_KEY_ID=$(field "$work/session.json" 'd["Credentials"]["AccessKeyId"]')
export AWS_SECRET_ACCESS_KEY=$(field "$work/session.json" 'd["Credentials"]["SecretAccessKey"]')
export AWS_SESSION_TOKEN=$(field "$work/session.json" 'd["Credentials"]["SessionToken"]')
expect_kms_error AccessDeniedException \
    "User: arn:aws:sts::$account:assumed-role/worker/s1 is not authorized to perform: kms:Decrypt on resource: $key_arn because no permissions boundary allows the kms:Decrypt action" \
    decrypt --ciphertext-blob "$blob"
a kms encrypt --key-id "$key" --plaintext "fileb://$work/plain.bin" >/dev/null

step "iam:PermissionsBoundary: a user may be allowed to create users only with a given boundary"
as_root
a iam create-user --user-name admin >/dev/null
admin_policy=$(cat <<EOF
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:CreateUser","Resource":"*",
 "Condition":{"StringEquals":{"iam:PermissionsBoundary":"$boundary_arn"}}}]}
EOF
)
a iam put-user-policy --user-name admin --policy-name create-bounded --policy-document "$admin_policy"
a iam create-access-key --user-name admin >"$work/admin.json"
export AWS_ACCESS_KEY_ID=$(field "$work/admin.json" 'd["AccessKey"]["AccessKeyId"]')
export AWS_SECRET_ACCESS_KEY=$(field "$work/admin.json" 'd["AccessKey"]["SecretAccessKey"]')
expect_aws_error AccessDenied \
    "User: arn:aws:iam::$account:user/admin is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::$account:user/free because no identity-based policy allows the iam:CreateUser action" \
    iam create-user --user-name free
a iam create-user --user-name bounded --permissions-boundary "$boundary_arn" >/dev/null

step "the boundary survives a restart"
stop_server
start_server "$work/data"
as_app
expect_kms_error AccessDeniedException \
    "User: $app_arn is not authorized to perform: kms:Decrypt on resource: $key_arn because no permissions boundary allows the kms:Decrypt action" \
    decrypt --ciphertext-blob "$blob"

step "DeleteUserPermissionsBoundary: the identity policy alone decides again"
as_root
a iam delete-user-permissions-boundary --user-name app
expect_eq "app has no boundary" "None" \
    "$(a iam get-user --user-name app --query User.PermissionsBoundary --output text)"
as_app
expect_eq "Decrypt" "aGVsbG8=" \
    "$(a kms decrypt --ciphertext-blob "$blob" --query Plaintext --output text)"

echo "PASS: tests/e2e/permissions_boundary.sh"
