#!/usr/bin/env bash
# End-to-end test with Terraform and the hashicorp/aws provider: the configuration in
# tests/e2e/terraform/ (keys, key policy, alias, a grant with an encryption-context constraint
# for an IAM role, the role and its inline policy, aws_kms_ciphertext decrypted again by
# data.aws_kms_secrets, data.aws_kms_key and data.aws_kms_alias, aws_kms_external_key with
# key_material_base64, a multi-Region aws_kms_key with its aws_kms_replica_key in a second
# Region) is applied against Trent, the
# result checked with the aws CLI, planned again (no changes), and destroyed.
#
#   PATH="$PWD/.venv/bin:$PATH" TRENT_BIN=target/debug/trent tests/e2e/terraform.sh
#
# Needs `terraform` on PATH and the provider in a filesystem mirror (TERRAFORM_PLUGIN_MIRROR,
# default /opt/tf-plugins, holding registry.terraform.io/hashicorp/aws/...); there is no
# network. Without them it prints SKIPPED and exits 0. Terraform runs hermetically: its own CLI
# config and HOME, no ~/.aws, no TF_* from the environment but TF_LOG and TF_LOG_PATH.
#
# To add a resource, add a .tf file to
# tests/e2e/terraform/ and its checks here.
set -euo pipefail

mirror=${TERRAFORM_PLUGIN_MIRROR:-/opt/tf-plugins}
if ! command -v terraform >/dev/null; then
    echo "SKIPPED: tests/e2e/terraform.sh: no 'terraform' on PATH"
    exit 0
fi
if [[ ! -d "$mirror/registry.terraform.io/hashicorp/aws" ]]; then
    echo "SKIPPED: tests/e2e/terraform.sh: no hashicorp/aws provider in the mirror $mirror"
    exit 0
fi

# shellcheck source=tests/e2e/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

account=000000000000
plaintext="hello from terraform"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1

a() { aws --endpoint-url "$endpoint" "$@"; }
as_root() {
    export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
    unset AWS_SESSION_TOKEN
}
json() { # file python-expression-on-d
    python3 -c 'import json,sys;d=json.load(open(sys.argv[1]));print(eval(sys.argv[2]))' "$1" "$2"
}

# Terraform, hermetic: the mirror only, its own HOME, nothing from the environment's TF_*.
tf_dir="$work/tf"
mkdir -p "$tf_dir" "$work/home"
cp "$e2e_root"/tests/e2e/terraform/*.tf "$tf_dir/"
cat >"$work/terraform.rc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/*/*"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
RC
while IFS= read -r name; do
    [[ "$name" == TF_LOG || "$name" == TF_LOG_PATH ]] || unset "$name"
done < <(compgen -e | grep '^TF_' || true)
export TF_CLI_CONFIG_FILE="$work/terraform.rc" TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1

# Prints what the server refused (the audit log's errors): what to look at when Terraform fails.
audit_errors() {
    python3 - "$data/audit.log" <<'PY' >&2 || true
import json, sys
print("--- requests the server refused (audit log) ---")
for line in open(sys.argv[1], encoding="utf-8"):
    r = json.loads(line)
    if r.get("errorCode"):
        print(f'{r["eventSource"]} {r["eventName"]}: {r["errorCode"]}: {r.get("errorMessage", "")}')
PY
}

# Runs `terraform ARGS...` in the configuration's directory and fails unless it exits 0; its
# output goes to a log that is shown (with the server's refusals) when it fails.
tf_runs=0
tf() {
    tf_runs=$((tf_runs + 1))
    local log="$work/terraform.$tf_runs.log" rc=0 started=$SECONDS
    (cd "$tf_dir" && HOME="$work/home" terraform "$@" -no-color) >"$log" 2>&1 || rc=$?
    echo "   terraform $1: exit $rc after $((SECONDS - started)) s"
    if [[ $rc -ne 0 ]]; then
        echo "--- terraform $* ($log) ---" >&2
        tail -n 60 "$log" >&2
        audit_errors
        fail "terraform $1 exited $rc"
    fi
}
out() { json "$work/outputs.json" "d['$1']['value']"; }

data="$work/data"
step "start the server"
start_server "$data"

# 32 bytes of key material for aws_kms_external_key, kept to check the import below.
head -c 32 /dev/urandom >"$work/imported.bin"
cat >"$tf_dir/terraform.tfvars" <<VARS
endpoint = "$endpoint"
imported_material = "$(base64 -w0 "$work/imported.bin")"
VARS

step "terraform init (provider from the mirror), apply"
tf init -input=false
sed -n 's/^- Installed \(.*\)/   provider: \1/p' "$work/terraform.$tf_runs.log"
tf apply -auto-approve -input=false

step "outputs"
(cd "$tf_dir" && HOME="$work/home" terraform output -no-color -json) >"$work/outputs.json"
main_key=$(out main_key_id)
[[ "$main_key" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] ||
    fail "main key id [$main_key]"
expect_eq "account (from Trent's STS GetCallerIdentity)" "$account" "$(out account_id)"
expect_eq "main key arn" "arn:aws:kms:us-east-1:$account:key/$main_key" "$(out main_key_arn)"
expect_eq "alias arn" "arn:aws:kms:us-east-1:$account:alias/tf-e2e-main" "$(out alias_arn)"
expect_eq "data.aws_kms_alias target" "$main_key" "$(out alias_target_key_id)"
expect_eq "data.aws_kms_key by alias" "$main_key" "$(out key_by_alias_id)"
expect_eq "data.aws_kms_key description" "terraform e2e: main key" "$(out key_by_alias_description)"
expect_eq "data.aws_kms_secrets decrypts aws_kms_ciphertext" "$plaintext" "$(out decrypted)"
role_arn=$(out role_arn)
expect_eq "role arn" "arn:aws:iam::$account:role/svc/tf-app" "$role_arn"
grant_id=$(out grant_id)
keys=("$main_key")

step "the state, through the aws CLI"
expect_eq "main key" "Enabled	SYMMETRIC_DEFAULT	ENCRYPT_DECRYPT	terraform e2e: main key" \
    "$(a kms describe-key --key-id "$main_key" --query 'KeyMetadata.[KeyState,KeySpec,KeyUsage,Description]' --output text)"
expect_eq "main key tags" "env=e2e team=blue" \
    "$(a kms list-resource-tags --key-id "$main_key" --query 'Tags[].[TagKey,TagValue]' --output text |
        sort | tr '\t' = | paste -sd ' ')"
expect_eq "alias" "alias/tf-e2e-main" \
    "$(a kms list-aliases --key-id "$main_key" --query 'Aliases[].AliasName' --output text)"
a kms list-grants --key-id "$main_key" >"$work/grants.json"
expect_eq "one grant" 1 "$(json "$work/grants.json" 'len(d["Grants"])')"
expect_eq "the grant" "$grant_id tf-e2e-app $role_arn ['Decrypt', 'Encrypt']" \
    "$(json "$work/grants.json" '" ".join([d["Grants"][0]["GrantId"], d["Grants"][0]["Name"], d["Grants"][0]["GranteePrincipal"], str(sorted(d["Grants"][0]["Operations"]))])')"
expect_eq "the grant's constraints" "{'EncryptionContextEquals': {'app': 'tf-e2e'}}" \
    "$(json "$work/grants.json" 'd["Grants"][0]["Constraints"]')"
expect_eq "role" "/svc/	AROA" \
    "$(a iam get-role --role-name tf-app --query 'Role.[Path,RoleId]' --output text | sed 's/\(AROA\).*/\1/')"
expect_eq "role policy" "kms:DescribeKey" \
    "$(a iam get-role-policy --role-name tf-app --policy-name kms-describe --query 'PolicyDocument.Statement[0].Action[0]' --output text)"
out ciphertext | base64 -d >"$work/blob"
expect_eq "the CLI decrypts aws_kms_ciphertext" "$plaintext" \
    "$(a kms decrypt --ciphertext-blob "fileb://$work/blob" --encryption-context app=tf-e2e \
        --query Plaintext --output text | base64 -d)"
rotating_key=$(out rotating_key_id)
keys+=("$rotating_key")
expect_eq "main key rotation" "False" \
    "$(a kms get-key-rotation-status --key-id "$main_key" --query KeyRotationEnabled --output text)"
expect_eq "rotating key rotation" "True	180" \
    "$(a kms get-key-rotation-status --key-id "$rotating_key" --query '[KeyRotationEnabled,RotationPeriodInDays]' --output text)"
expect_eq "key policy (aws_kms_key_policy)" "account app" \
    "$(a kms get-key-policy --key-id "$main_key" --policy-name default --query Policy --output text |
        python3 -c 'import json,sys;print(" ".join(s["Sid"] for s in json.load(sys.stdin)["Statement"]))')"

imported_key=$(out imported_key_id)
keys+=("$imported_key")
expect_eq "aws_kms_external_key state and expiration" "Enabled KEY_MATERIAL_DOES_NOT_EXPIRE" \
    "$(out imported_key_state) $(out imported_key_expiration_model)"
expect_eq "imported key through the CLI" "Enabled	EXTERNAL	KEY_MATERIAL_DOES_NOT_EXPIRE" \
    "$(a kms describe-key --key-id "$imported_key" \
        --query 'KeyMetadata.[KeyState,Origin,ExpirationModel]' --output text)"
# The key holds exactly the bytes Terraform was given: a ciphertext made with them offline would
# need Trent's blob format, so check the other way: the same bytes imported into the key again
# are accepted as its existing material (other bytes would be IncorrectKeyMaterialException).
a kms get-parameters-for-import --key-id "$imported_key" --wrapping-algorithm RSAES_OAEP_SHA_256 \
    --wrapping-key-spec RSA_2048 >"$work/params.json"
# Wrapped as the provider wraps (RSA-OAEP with SHA-256), with Python `cryptography` from .venv.
python3 - "$work/params.json" "$work/imported.bin" "$work/wrapped.bin" "$work/token.bin" <<'PY'
import base64, json, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
params = json.load(open(sys.argv[1]))
public = serialization.load_der_public_key(base64.b64decode(params["PublicKey"]))
oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
open(sys.argv[3], "wb").write(public.encrypt(open(sys.argv[2], "rb").read(), oaep))
open(sys.argv[4], "wb").write(base64.b64decode(params["ImportToken"]))
PY
a kms import-key-material --key-id "$imported_key" --import-type EXISTING_KEY_MATERIAL \
    --encrypted-key-material "fileb://$work/wrapped.bin" --import-token "fileb://$work/token.bin" \
    --expiration-model KEY_MATERIAL_DOES_NOT_EXPIRE >/dev/null

multi_key=$(out multi_key_id)
[[ "$multi_key" =~ ^mrk-[0-9a-f]{32}$ ]] || fail "multi-Region key id [$multi_key]"
expect_eq "aws_kms_replica_key arn" "arn:aws:kms:eu-west-1:$account:key/$multi_key" "$(out replica_arn)"
expect_eq "the primary" "PRIMARY	us-east-1	eu-west-1" \
    "$(a kms describe-key --key-id "$multi_key" --query 'KeyMetadata.MultiRegionConfiguration.[MultiRegionKeyType,PrimaryKey.Region,ReplicaKeys[0].Region]' --output text)"
expect_eq "the replica, in its Region" "REPLICA	Enabled	terraform e2e: multi-Region replica" \
    "$(a --region eu-west-1 kms describe-key --key-id "$multi_key" --query 'KeyMetadata.[MultiRegionConfiguration.MultiRegionKeyType,KeyState,Description]' --output text)"
expect_eq "the replica's tags" "team=eu" \
    "$(a --region eu-west-1 kms list-resource-tags --key-id "$multi_key" --query 'Tags[].[TagKey,TagValue]' --output text | tr '\t' =)"
expect_eq "the replica shares the primary's rotation" "True	365" \
    "$(a --region eu-west-1 kms get-key-rotation-status --key-id "$multi_key" --query '[KeyRotationEnabled,RotationPeriodInDays]' --output text)"
printf 'crosses Regions' >"$work/multi.txt"
a kms encrypt --key-id "$multi_key" --plaintext "fileb://$work/multi.txt" \
    --query CiphertextBlob --output text | base64 -d >"$work/multi.blob"
expect_eq "a ciphertext of the primary decrypts in the replica's Region" "crosses Regions" \
    "$(a --region eu-west-1 kms decrypt --ciphertext-blob "fileb://$work/multi.blob" --query Plaintext --output text | base64 -d)"

step "the role's sessions: DescribeKey by its policy, Decrypt only by the grant's context"
a iam create-user --user-name tf-checker >/dev/null
a iam put-user-policy --user-name tf-checker --policy-name assume --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}'
a iam create-access-key --user-name tf-checker >"$work/checker.json"
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
AWS_ACCESS_KEY_ID=$(json "$work/checker.json" 'd["AccessKey"]["AccessKeyId"]')
AWS_SECRET_ACCESS_KEY=$(json "$work/checker.json" 'd["AccessKey"]["SecretAccessKey"]')
a sts assume-role --role-arn "$role_arn" --role-session-name check >"$work/session.json"
AWS_ACCESS_KEY_ID=$(json "$work/session.json" 'd["Credentials"]["AccessKeyId"]')
AWS_SECRET_ACCESS_KEY=$(json "$work/session.json" 'd["Credentials"]["SecretAccessKey"]')
AWS_SESSION_TOKEN=$(json "$work/session.json" 'd["Credentials"]["SessionToken"]')
export AWS_SESSION_TOKEN
expect_eq "DescribeKey as the role" "$main_key" \
    "$(a kms describe-key --key-id alias/tf-e2e-main --query KeyMetadata.KeyId --output text)"
expect_eq "Decrypt as the role, by the grant" "$plaintext" \
    "$(a kms decrypt --ciphertext-blob "fileb://$work/blob" --encryption-context app=tf-e2e \
        --query Plaintext --output text | base64 -d)"
expect_kms_error AccessDeniedException \
    "User: arn:aws:sts::$account:assumed-role/tf-app/check is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:$account:key/$main_key because no identity-based policy allows the kms:Decrypt action" \
    decrypt --ciphertext-blob "fileb://$work/blob" --encryption-context app=other
as_root

step "plan again: no changes"
tf plan -detailed-exitcode -input=false

step "destroy"
tf destroy -auto-approve -input=false

step "afterwards: every key pending deletion in 7 days, no alias, no grant, no role"
all_keys=$(a kms list-keys --query 'Keys[].KeyId' --output text | tr '\t' '\n' | sort | paste -sd ' ')
expect_eq "the keys" "$(printf '%s\n' "${keys[@]}" "$multi_key" | sort | paste -sd ' ')" "$all_keys"
now=$(date +%s)
for key in "${keys[@]}"; do
    a kms describe-key --key-id "$key" >"$work/key.json"
    expect_eq "$key state" PendingDeletion "$(json "$work/key.json" 'd["KeyMetadata"]["KeyState"]')"
    # (the CLI prints the timestamp as the wire has it: epoch seconds)
    deletion=$(json "$work/key.json" 'int(d["KeyMetadata"]["DeletionDate"])')
    days=$(((deletion - now + 43200) / 86400))
    expect_eq "$key deletion in days" 7 "$days"
    expect_eq "$key grants" 0 "$(a kms list-grants --key-id "$key" --query 'length(Grants)' --output text)"
done
# The multi-Region primary waits for its replica (destroyed first, pending deletion in 7 days).
a --region eu-west-1 kms describe-key --key-id "$multi_key" >"$work/key.json"
expect_eq "replica state" PendingDeletion "$(json "$work/key.json" 'd["KeyMetadata"]["KeyState"]')"
deletion=$(json "$work/key.json" 'int(d["KeyMetadata"]["DeletionDate"])')
expect_eq "replica deletion in days" 7 "$(((deletion - now + 43200) / 86400))"
expect_eq "primary" "PendingReplicaDeletion	7	None" \
    "$(a kms describe-key --key-id "$multi_key" --query 'KeyMetadata.[KeyState,PendingDeletionWindowInDays,DeletionDate]' --output text)"
expect_eq "customer aliases" "" \
    "$(a kms list-aliases --query "Aliases[?!starts_with(AliasName, 'alias/aws/')].AliasName" --output text)"
expect_error_code() { # code args...
    local code=$1 rc=0
    shift
    a "$@" >/dev/null 2>"$work/err.err" || rc=$?
    expect_eq "$* exit status" 255 "$rc"
    grep -q "($code)" "$work/err.err" || fail "$*: $(cat "$work/err.err")"
}
expect_error_code NoSuchEntity iam get-role --role-name tf-app

echo "OK"
