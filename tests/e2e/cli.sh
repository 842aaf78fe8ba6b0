#!/usr/bin/env bash
# End-to-end test with the `aws` CLI (v1) against the real `trent serve` binary.
#
# Flow: create key, alias, encrypt a binary file with fileb://, decrypt, restart the server on the
# same data dir and decrypt again (persistence), disable -> DisabledException, enable, schedule
# deletion -> KMSInvalidStateException, restart again (the state persisted).
#
# Run under `cargo test` by crates/trent/tests/e2e_scripts.rs (which sets TRENT_BIN), or by hand
# after `cargo build -p trent`, with `aws` on PATH (scripts/test installs it in .venv):
#   PATH="$PWD/.venv/bin:$PATH" TRENT_BIN=target/debug/trent tests/e2e/cli.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TRENT_BIN=${TRENT_BIN:-$root/target/debug/trent}
if [[ ! -x "$TRENT_BIN" ]]; then
    echo "cli.sh: TRENT_BIN=$TRENT_BIN is not an executable (run cargo build -p trent)" >&2
    exit 1
fi
if ! command -v aws >/dev/null; then
    echo "cli.sh: no 'aws' on PATH; run scripts/test (it installs the pinned awscli in .venv)" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/trent-e2e-cli.XXXXXX")
data="$work/data"
server_pid=""
server_log=""
endpoint=""
starts=0

cleanup() {
    local status=$?
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ $status -ne 0 && -n "$server_log" && -f "$server_log" ]]; then
        echo "--- server log ($server_log) ---" >&2
        tail -n 50 "$server_log" >&2
    fi
    rm -rf -- "$work"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

step() {
    echo "== $*"
}

# Joins the arguments with tabs, as `--output text` prints a list.
tsv() {
    local IFS=$'\t'
    echo "$*"
}

expect_eq() { # description expected actual
    if [[ "$2" != "$3" ]]; then
        fail "$1"$'\n'"  expected: [$2]"$'\n'"  actual:   [$3]"
    fi
}

# The aws CLI, hermetic: development credentials, no config files, no instance metadata.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE="$work/no-aws-config" AWS_SHARED_CREDENTIALS_FILE="$work/no-aws-credentials"
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ENDPOINT_URL \
    AWS_ENDPOINT_URL_KMS AWS_CA_BUNDLE

kms() {
    aws --endpoint-url "$endpoint" kms "$@"
}

# Asserts that `aws kms OP ARGS...` fails as a service error with exactly CODE and MESSAGE.
expect_error() { # code message op args...
    local code=$1 message=$2 op=$3
    shift 3
    local out="$work/err.out" err="$work/err.err" rc=0
    kms "$op" "$@" >"$out" 2>"$err" || rc=$?
    local operation
    operation=$(sed -E 's/(^|-)([a-z])/\U\2/g' <<<"$op")
    # awscli v1 exits 255 on a service error and prints a blank line, then the error.
    expect_eq "$op exit status (stderr: $(cat "$err"))" 255 "$rc"
    expect_eq "$op stdout" "" "$(cat "$out")"
    expect_eq "$op error" \
        "An error occurred ($code) when calling the $operation operation: $message" \
        "$(grep -v '^$' "$err")"
}

start_server() {
    starts=$((starts + 1))
    server_log="$work/server.$starts.log"
    env -u TRENT_ROOT_KEY -u TRENT_CONFIG -u TRENT_LISTEN -u TRENT_DATA_DIR RUST_LOG=info \
        "$TRENT_BIN" serve --listen 127.0.0.1:0 --data-dir "$data" >/dev/null 2>"$server_log" &
    server_pid=$!
    local addr="" i
    for ((i = 0; i < 300; i++)); do
        addr=$(sed -n 's|.*listening on http://\([^,]*\), data dir .*|\1|p' "$server_log")
        [[ -n "$addr" ]] && break
        kill -0 "$server_pid" 2>/dev/null || fail "server exited during startup"
        sleep 0.1
    done
    [[ -n "$addr" ]] || fail "server did not log its address within 30 s"
    [[ "$addr" =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail "unexpected listen address: $addr"
    endpoint="http://$addr"
    echo "   server $starts: pid $server_pid on $endpoint"
}

# SIGTERM, then the server must exit 0 within 10 s after logging that it stopped.
stop_server() {
    kill -TERM "$server_pid"
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$server_pid" 2>/dev/null && fail "server did not stop within 10 s of SIGTERM"
    local rc=0
    wait "$server_pid" || rc=$?
    server_pid=""
    expect_eq "server exit status after SIGTERM" 0 "$rc"
    grep -q 'stopped$' "$server_log" || fail "server log has no 'stopped' line"
}

account=000000000000
region=us-east-1
alias_name=alias/trent-e2e-cli
context=purpose=e2e,tool=aws-cli

step "start the server on a fresh data dir"
start_server

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
start_server
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
start_server
expect_eq "state after restart" "$(tsv PendingDeletion "$sched_date")" \
    "$(kms describe-key --key-id "$key_id" --output text --query 'KeyMetadata.[KeyState,DeletionDate]')"
expect_error KMSInvalidStateException "$arn is pending deletion." \
    decrypt --ciphertext-blob "fileb://$work/cipher.bin" --encryption-context "$context"
stop_server

echo "PASS: tests/e2e/cli.sh"
