#!/usr/bin/env bash
# `trent explain --as` with any session ARN of a role created through the IAM API (the role has
# a path, which session ARNs leave out): the grant that allows a session is named, and the same
# session without the grant's encryption context is denied, with the constraint that failed.
# Before, such sessions were refused with "Trent does not know the principal".
#
#   PATH="$PWD/.venv/bin:$PATH" TRENT_BIN=target/debug/trent tests/e2e/explain_api_role.sh
set -euo pipefail
# shellcheck source=tests/e2e/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
a() { aws --endpoint-url "$endpoint" "$@"; }
explain() { "$TRENT_BIN" explain --endpoint-url "$endpoint" "$@"; }

start_server "$work/data"
step "a role with a path, created through IAM; a key only a grant lets its sessions decrypt with"
trust='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]}'
a iam create-role --role-name fn-role --path /service-role/ --assume-role-policy-document "$trust" >/dev/null
key=$(a kms create-key --query KeyMetadata.KeyId --output text)
grant=$(a kms create-grant --key-id "$key" \
    --grantee-principal arn:aws:iam::000000000000:role/service-role/fn-role \
    --operations Decrypt --constraints EncryptionContextEquals={function=fn} \
    --query GrantId --output text)
session=arn:aws:sts::000000000000:assumed-role/fn-role/any-session-name

step "explain as a session of it"
explain --as "$session" --action kms:Decrypt --key "$key" --encryption-context function=fn \
    >"$work/allowed.txt"
head -1 "$work/allowed.txt" | grep -q '^ALLOW kms:Decrypt' || fail "not allowed: $(cat "$work/allowed.txt")"
grep -q "grants: grant $grant" "$work/allowed.txt" || fail "the grant is not named: $(cat "$work/allowed.txt")"
# Exit status: 0 allowed (above, or set -e would have stopped the script), 1 denied.
rc=0
explain --as "$session" --action kms:Decrypt --key "$key" >"$work/denied.txt" || rc=$?
expect_eq "exit status of a denied explanation" 1 "$rc"
head -1 "$work/denied.txt" | grep -q '^DENY (implicit) kms:Decrypt' || fail "not denied: $(cat "$work/denied.txt")"
grep -q 'EncryptionContextEquals constraint' "$work/denied.txt" || fail "no constraint: $(cat "$work/denied.txt")"

step "a session of a role that does not exist is still refused"
rc=0
explain --as arn:aws:sts::000000000000:assumed-role/nobody/s --action kms:Decrypt \
    --key "$key" >/dev/null 2>"$work/unknown.err" || rc=$?
expect_eq "exit status for an unknown principal (an input error)" 2 "$rc"
grep -q "does not know the principal" "$work/unknown.err" || fail "$(cat "$work/unknown.err")"
echo "PASS: tests/e2e/explain_api_role.sh"
