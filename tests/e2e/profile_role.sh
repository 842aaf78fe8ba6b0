#!/usr/bin/env bash
# End-to-end test of identities over the wire with the `aws` CLI (v1): IAM (roles, policies,
# users, access keys, validation errors), STS (GetCallerIdentity, AssumeRole, denial, expiry,
# deleted roles), KMS through role sessions, and the README walkthrough: an `aws` profile with
# `role_arn` + `source_profile` + `endpoint_url`.
#
#   PATH="$PWD/.venv/bin:$PATH" TRENT_BIN=target/debug/trent tests/e2e/profile_role.sh
set -euo pipefail
# shellcheck source=tests/e2e/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

data="$work/data"
account=000000000000
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1

a() { aws --endpoint-url "$endpoint" "$@"; }

# start_server reads its log right after starting the server in the background: create the
# log first so that read cannot race the server's shell opening it.
start() { # data-dir
    : >"$work/server.$((starts + 1)).log"
    start_server "$@"
}
stop() {
    kill -TERM "$server_pid"
    wait "$server_pid" || true
    server_pid=""
}


# Exports the credentials of an `sts assume-role` JSON answer.
use_credentials() { # json-file
    AWS_ACCESS_KEY_ID=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["Credentials"]["AccessKeyId"])' "$1")
    AWS_SECRET_ACCESS_KEY=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["Credentials"]["SecretAccessKey"])' "$1")
    AWS_SESSION_TOKEN=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["Credentials"]["SessionToken"])' "$1")
    export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
}
as_root() {
    export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
    unset AWS_SESSION_TOKEN
}
# The IAM user `ops` assumes roles (an account root cannot, as in AWS).
as_ops() {
    export AWS_ACCESS_KEY_ID=$ops_key AWS_SECRET_ACCESS_KEY=$ops_secret
    unset AWS_SESSION_TOKEN
}

trust_root='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":["sts:AssumeRole","sts:TagSession"]}]}'
trust_user='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/carol"},"Action":"sts:AssumeRole"}]}'
kms_all='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}'

step "start the server"
start "$data"

step "GetCallerIdentity as the account root"
expect_eq "root identity" "$account	arn:aws:iam::$account:root	$account" \
    "$(a sts get-caller-identity --query '[Account,Arn,UserId]' --output text)"

step "IAM: create a role with a trust policy, a managed policy, attach it"
role_id=$(a iam create-role --role-name app --path /svc/ --assume-role-policy-document "$trust_root" \
    --max-session-duration 7200 --tags Key=team,Value=blue --query Role.RoleId --output text)
[[ "$role_id" =~ ^AROA[A-Z2-7]{17}$ ]] || fail "role id $role_id"
policy_arn=$(a iam create-policy --policy-name kms-all --policy-document "$kms_all" \
    --query Policy.Arn --output text)
expect_eq "policy arn" "arn:aws:iam::$account:policy/kms-all" "$policy_arn"
a iam attach-role-policy --role-name app --policy-arn "$policy_arn"
expect_eq "attached" "kms-all" \
    "$(a iam list-attached-role-policies --role-name app --query 'AttachedPolicies[0].PolicyName' --output text)"
# Trent has no instance profiles: a role is in none (clients look before DeleteRole).
expect_eq "instance profiles" "0 False" \
    "$(a iam list-instance-profiles-for-role --role-name app --no-paginate --query '[length(InstanceProfiles),IsTruncated]' --output text | tr '\t' ' ')"
expect_eq "policy version document" "kms:*" \
    "$(a iam get-policy-version --policy-arn "$policy_arn" --version-id v1 --query 'PolicyVersion.Document.Statement[0].Action' --output text)"

step "IAM validation errors"
expect_aws_error EntityAlreadyExists "Role with name app already exists." \
    iam create-role --role-name app --assume-role-policy-document "$trust_root"
expect_aws_error NoSuchEntity "The user with name nobody cannot be found." iam get-user --user-name nobody
expect_aws_error NoSuchEntity "The role with name nobody cannot be found." \
    iam list-instance-profiles-for-role --role-name nobody
expect_aws_error ValidationError \
    "1 validation error detected: Value 'bad name' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+" \
    iam create-user --user-name "bad name"
rc=0
a iam put-role-policy --role-name app --policy-name x \
    --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"kms:*","Resource":"*"}]}' \
    2>"$work/malformed.err" || rc=$?
expect_eq "malformed policy exit status" 255 "$rc"
grep -q '(MalformedPolicyDocument) when calling the PutRolePolicy operation' "$work/malformed.err" ||
    fail "malformed policy: $(cat "$work/malformed.err")"
expect_aws_error DeleteConflict "Cannot delete a policy attached to entities." iam delete-policy --policy-arn "$policy_arn"

step "an account root cannot assume a role; an IAM user of the account can"
expect_aws_error AccessDenied "Roles may not be assumed by root accounts." \
    sts assume-role --role-arn "arn:aws:iam::$account:role/svc/app" --role-session-name build-42
a iam create-user --user-name ops >/dev/null
a iam put-user-policy --user-name ops --policy-name assume \
    --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Resource":"*"}]}'
a iam create-access-key --user-name ops >"$work/ops.json"
ops_key=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["AccessKey"]["AccessKeyId"])' "$work/ops.json")
ops_secret=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["AccessKey"]["SecretAccessKey"])' "$work/ops.json")

step "AssumeRole, then GetCallerIdentity with the session"
as_ops
a sts assume-role --role-arn "arn:aws:iam::$account:role/svc/app" --role-session-name build-42 \
    --duration-seconds 900 --tags Key=stage,Value=ci >"$work/s1.json"
use_credentials "$work/s1.json"
[[ "$AWS_ACCESS_KEY_ID" =~ ^ASIA ]] || fail "temporary key $AWS_ACCESS_KEY_ID"
expect_eq "session identity" "arn:aws:sts::$account:assumed-role/app/build-42	$role_id:build-42" \
    "$(a sts get-caller-identity --query '[Arn,UserId]' --output text)"

step "KMS through the session; a key policy naming the role lets it in"
key_id=$(a kms create-key --query KeyMetadata.KeyId --output text)
printf hello >"$work/plain"
a kms encrypt --key-id "$key_id" --plaintext "fileb://$work/plain" --query CiphertextBlob --output text |
    base64 -d >"$work/blob"
expect_eq "decrypt" "aGVsbG8=" \
    "$(a kms decrypt --ciphertext-blob "fileb://$work/blob" --query Plaintext --output text)"
as_root
a iam detach-role-policy --role-name app --policy-arn "$policy_arn"
key2=$(a kms create-key --policy '{"Version":"2012-10-17","Statement":[{"Sid":"root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"kms:*","Resource":"*"},{"Sid":"role","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:role/svc/app"},"Action":"kms:DescribeKey","Resource":"*"}]}' --query KeyMetadata.KeyId --output text)
use_credentials "$work/s1.json"
expect_eq "describe through the key policy" "$key2" \
    "$(a kms describe-key --key-id "$key2" --query KeyMetadata.KeyId --output text)"
expect_kms_error AccessDeniedException \
    "User: arn:aws:sts::$account:assumed-role/app/build-42 is not authorized to perform: kms:DescribeKey on resource: arn:aws:kms:us-east-1:$account:key/$key_id because no identity-based policy allows the kms:DescribeKey action" \
    describe-key --key-id "$key_id"

step "a session policy narrows what the role allows"
as_root
a iam attach-role-policy --role-name app --policy-arn "$policy_arn"
as_ops
a sts assume-role --role-arn "arn:aws:iam::$account:role/svc/app" --role-session-name narrow \
    --policy '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:DescribeKey","Resource":"*"}]}' >"$work/s2.json"
use_credentials "$work/s2.json"
a kms describe-key --key-id "$key_id" >/dev/null
expect_kms_error AccessDeniedException \
    "User: arn:aws:sts::$account:assumed-role/app/narrow is not authorized to perform: kms:Encrypt on resource: arn:aws:kms:us-east-1:$account:key/$key_id because no session policy allows the kms:Encrypt action" \
    encrypt --key-id "$key_id" --plaintext "fileb://$work/plain"

step "an explicit deny in a session policy wins, also over a missing allow"
as_ops
a sts assume-role --role-arn "arn:aws:iam::$account:role/svc/app" --role-session-name guarded \
    --policy '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":["kms:Encrypt","iam:ListUsers"],"Resource":"*"}]}' >"$work/s3.json"
use_credentials "$work/s3.json"
a kms describe-key --key-id "$key_id" >/dev/null
expect_kms_error AccessDeniedException \
    "User: arn:aws:sts::$account:assumed-role/app/guarded is not authorized to perform: kms:Encrypt on resource: arn:aws:kms:us-east-1:$account:key/$key_id with an explicit deny in a session policy" \
    encrypt --key-id "$key_id" --plaintext "fileb://$work/plain"
# The role's policies allow no IAM action; the session policy's deny is still what AWS reports.
expect_aws_error AccessDenied \
    "User: arn:aws:sts::$account:assumed-role/app/guarded is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::$account:user/ with an explicit deny in a session policy" \
    iam list-users

step "a trust policy that does not allow the caller"
as_root
a iam create-user --user-name carol >/dev/null
a iam put-user-policy --user-name carol --policy-name assume \
    --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}'
a iam create-access-key --user-name carol >"$work/carol.json"
carol_key=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["AccessKey"]["AccessKeyId"])' "$work/carol.json")
carol_secret=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["AccessKey"]["SecretAccessKey"])' "$work/carol.json")
a iam create-role --role-name closed --assume-role-policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/dave"},"Action":"sts:AssumeRole"}]}' >/dev/null
a iam create-role --role-name for-carol --assume-role-policy-document "$trust_user" >/dev/null
export AWS_ACCESS_KEY_ID=$carol_key AWS_SECRET_ACCESS_KEY=$carol_secret
expect_eq "carol" "arn:aws:iam::$account:user/carol" "$(a sts get-caller-identity --query Arn --output text)"
expect_aws_error AccessDenied \
    "User: arn:aws:iam::$account:user/carol is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::$account:role/closed" \
    sts assume-role --role-arn "arn:aws:iam::$account:role/closed" --role-session-name s1
a sts assume-role --role-arn "arn:aws:iam::$account:role/for-carol" --role-session-name s1 >/dev/null
expect_aws_error AccessDenied \
    "User: arn:aws:iam::$account:user/carol is not authorized to perform: iam:ListRoles on resource: arn:aws:iam::$account:role/ because no identity-based policy allows the iam:ListRoles action" \
    iam list-roles
as_root
expect_aws_error DeleteConflict "Cannot delete entity, must delete policies first." iam delete-user --user-name carol

step "role chaining is limited to one hour"
use_credentials "$work/s2.json"
expect_aws_error ValidationError \
    "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining." \
    sts assume-role --role-arn "arn:aws:iam::$account:role/svc/app" --role-session-name c1 --duration-seconds 7200

step "the README walkthrough: a profile with role_arn, source_profile and endpoint_url"
as_root
# (the CLI caches assumed-role credentials under ~/.aws/cli/cache: HOME is the work dir)
cat >"$work/aws-config" <<CFG
[profile trent]
region = us-east-1
endpoint_url = $endpoint
aws_access_key_id = $ops_key
aws_secret_access_key = $ops_secret

[profile app]
region = us-east-1
endpoint_url = $endpoint
role_arn = arn:aws:iam::$account:role/svc/app
source_profile = trent
role_session_name = walkthrough
CFG
expect_eq "profile identity" "arn:aws:sts::$account:assumed-role/app/walkthrough" \
    "$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME="$work" AWS_CONFIG_FILE="$work/aws-config" \
        aws --profile app sts get-caller-identity --query Arn --output text)"
expect_eq "profile kms" "$key_id" \
    "$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME="$work" AWS_CONFIG_FILE="$work/aws-config" \
        aws --profile app kms describe-key --key-id "$key_id" --query KeyMetadata.KeyId --output text)"

step "sessions survive a restart; expired sessions are refused"
stop
start "$data"
use_credentials "$work/s1.json"
a sts get-caller-identity >/dev/null
stop
TRENT_TEST_CLOCK_OFFSET=1000 start "$data"
expect_aws_error ExpiredToken "The security token included in the request is expired" sts get-caller-identity
expect_kms_error ExpiredTokenException "The security token included in the request is expired" \
    describe-key --key-id "$key_id"
stop
start "$data"

step "a deleted role's sessions stop working, and a new role of the same name is another role"
use_credentials "$work/s2.json"
a sts get-caller-identity >/dev/null
as_root
a iam detach-role-policy --role-name app --policy-arn "$policy_arn"
a iam delete-role --role-name app
use_credentials "$work/s2.json"
expect_aws_error InvalidClientTokenId "The security token included in the request is invalid." sts get-caller-identity
as_root
new_id=$(a iam create-role --role-name app --path /svc/ --assume-role-policy-document "$trust_root" \
    --query Role.RoleId --output text)
[[ "$new_id" != "$role_id" ]] || fail "the recreated role has the old unique id"
use_credentials "$work/s2.json"
expect_aws_error InvalidClientTokenId "The security token included in the request is invalid." sts get-caller-identity

echo "OK"
