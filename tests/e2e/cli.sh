#!/usr/bin/env bash
# End-to-end test with the `aws` CLI (v1) against the real `trent serve` binary.
#
# Flow: create key, alias, encrypt a binary file with fileb://, decrypt, restart the server on the
# same data dir and decrypt again (persistence), disable -> DisabledException, enable, schedule
# deletion -> KMSInvalidStateException, restart again (the state persisted).
#
# Run under `cargo test` by crates/trent/tests/it/e2e_scripts.rs (which sets TRENT_BIN), or by hand
# after `cargo build -p trent`, with `aws` on PATH (scripts/test installs it in .venv):
#   PATH="$PWD/.venv/bin:$PATH" TRENT_BIN=target/debug/trent tests/e2e/cli.sh
set -euo pipefail
# shellcheck source=tests/e2e/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

data="$work/data"

# Joins the arguments with tabs, as `--output text` prints a list.
tsv() {
    local IFS=$'\t'
    echo "$*"
}

# Development credentials: the root of account 000000000000.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1

kms() {
    aws --endpoint-url "$endpoint" kms "$@"
}

expect_error() { # code message op args...
    expect_kms_error "$@"
}

account=000000000000
region=us-east-1
alias_name=alias/trent-e2e-cli
context=purpose=e2e,tool=aws-cli

step "start the server on a fresh data dir"
start_server "$data"

step "create a key"
key_id=$(kms create-key --description "trent e2e cli" --query KeyMetadata.KeyId --output text)
[[ "$key_id" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] ||
    fail "CreateKey returned a KeyId that is not a UUID: $key_id"
arn="arn:aws:kms:$region:$account:key/$key_id"
expect_eq "DescribeKey of the new key" \
    "$(tsv "$arn" Enabled True ENCRYPT_DECRYPT SYMMETRIC_DEFAULT "trent e2e cli")" \
    "$(kms describe-key --key-id "$key_id" --output text \
        --query 'KeyMetadata.[Arn,KeyState,Enabled,KeyUsage,KeySpec,Description]')"

step "create an alias"
expect_eq "CreateAlias output" "" \
    "$(kms create-alias --alias-name "$alias_name" --target-key-id "$key_id")"
expect_eq "ListAliases for the key" \
    "$(tsv "$alias_name" "arn:aws:kms:$region:$account:$alias_name" "$key_id")" \
    "$(kms list-aliases --key-id "$key_id" --output text \
        --query 'Aliases[].[AliasName,AliasArn,TargetKeyId]')"
expect_eq "DescribeKey through the alias" "$key_id" \
    "$(kms describe-key --key-id "$alias_name" --query KeyMetadata.KeyId --output text)"
expect_error NotFoundException \
    "Alias arn:aws:kms:$region:$account:alias/trent-e2e-missing is not found." \
    describe-key --key-id alias/trent-e2e-missing

step "encrypt a binary file through the alias (fileb://)"
# Every byte value (NUL and 0xff included), then 1000 random bytes.
for ((i = 0; i < 256; i++)); do
    # shellcheck disable=SC2059 # the format is the octal escape being built
    printf "\\$(printf '%03o' "$i")"
done >"$work/plain.bin"
head -c 1000 /dev/urandom >>"$work/plain.bin"
expect_eq "plaintext size" 1256 "$(wc -c <"$work/plain.bin" | tr -d ' ')"
read -r enc_key enc_alg enc_blob < <(kms encrypt --key-id "$alias_name" \
    --plaintext "fileb://$work/plain.bin" --encryption-context "$context" \
    --output text --query '[KeyId,EncryptionAlgorithm,CiphertextBlob]')
expect_eq "Encrypt KeyId" "$arn" "$enc_key"
expect_eq "Encrypt EncryptionAlgorithm" SYMMETRIC_DEFAULT "$enc_alg"
base64 --decode <<<"$enc_blob" >"$work/cipher.bin"
cmp -s "$work/plain.bin" "$work/cipher.bin" && fail "ciphertext equals the plaintext"

decrypt_and_compare() { # what
    local dec_key dec_plain
    read -r dec_key dec_plain < <(kms decrypt --ciphertext-blob "fileb://$work/cipher.bin" \
        --encryption-context "$context" --output text --query '[KeyId,Plaintext]')
    expect_eq "$1: Decrypt KeyId" "$arn" "$dec_key"
    base64 --decode <<<"$dec_plain" >"$work/decrypted.bin"
    cmp "$work/plain.bin" "$work/decrypted.bin" ||
        fail "$1: decrypted bytes differ from the plaintext"
}

step "decrypt"
decrypt_and_compare "first server"
expect_error InvalidCiphertextException "" \
    decrypt --ciphertext-blob "fileb://$work/cipher.bin" --encryption-context purpose=e2e,tool=other
expect_error InvalidCiphertextException "" \
    decrypt --ciphertext-blob "fileb://$work/cipher.bin"

step "restart the server on the same data dir and decrypt again"
stop_server
start_server "$data"
decrypt_and_compare "after restart"
expect_eq "alias after restart" "$key_id" \
    "$(kms describe-key --key-id "$alias_name" --query KeyMetadata.KeyId --output text)"

step "disable the key: Encrypt and Decrypt fail with DisabledException"
expect_eq "DisableKey output" "" "$(kms disable-key --key-id "$key_id")"
expect_eq "state after DisableKey" "$(tsv Disabled False)" \
    "$(kms describe-key --key-id "$alias_name" --output text --query 'KeyMetadata.[KeyState,Enabled]')"
expect_error DisabledException "$arn is disabled." \
    encrypt --key-id "$alias_name" --plaintext "fileb://$work/plain.bin"
expect_error DisabledException "$arn is disabled." \
    decrypt --ciphertext-blob "fileb://$work/cipher.bin" --encryption-context "$context"

step "enable it again: Decrypt works"
expect_eq "EnableKey output" "" "$(kms enable-key --key-id "$key_id")"
decrypt_and_compare "after EnableKey"

step "schedule deletion: Encrypt and Decrypt fail with KMSInvalidStateException"
now=$(date +%s)
read -r sched_key sched_state sched_days sched_date < <(kms schedule-key-deletion \
    --key-id "$key_id" --pending-window-in-days 7 \
    --output text --query '[KeyId,KeyState,PendingWindowInDays,DeletionDate]')
expect_eq "ScheduleKeyDeletion KeyId" "$arn" "$sched_key"
expect_eq "ScheduleKeyDeletion KeyState" PendingDeletion "$sched_state"
expect_eq "ScheduleKeyDeletion PendingWindowInDays" 7 "$sched_days"
offset=$((${sched_date%.*} - now - 7 * 86400))
((offset >= -300 && offset <= 300)) ||
    fail "DeletionDate $sched_date is not 7 days from now ($now): off by $offset s"
expect_error KMSInvalidStateException "$arn is pending deletion." \
    encrypt --key-id "$alias_name" --plaintext "fileb://$work/plain.bin"
expect_error KMSInvalidStateException "$arn is pending deletion." \
    decrypt --ciphertext-blob "fileb://$work/cipher.bin" --encryption-context "$context"

step "restart: the pending deletion persisted"
stop_server
start_server "$data"
expect_eq "state after restart" "$(tsv PendingDeletion "$sched_date")" \
    "$(kms describe-key --key-id "$key_id" --output text --query 'KeyMetadata.[KeyState,DeletionDate]')"
expect_error KMSInvalidStateException "$arn is pending deletion." \
    decrypt --ciphertext-blob "fileb://$work/cipher.bin" --encryption-context "$context"
stop_server

echo "PASS: tests/e2e/cli.sh"
