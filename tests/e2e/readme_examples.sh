#!/usr/bin/env bash
# Every shell example of the README, run as written (issue 17 item 16). Each ```sh block of
# README.md follows a marker line `<!-- example: NAME -->`, or `<!-- example: not run: WHY -->`
# for the few that cannot run here (the test suite itself, a PostgreSQL host, benchmarks, fuzzing).
# A block is extracted from the README, not copied: `cargo run --release -p trent --` becomes the
# binary under test and http://127.0.0.1:4599 the test server's address; nothing else changes.
# Then its output is checked for what the README says it prints.
set -euo pipefail
# shellcheck source=tests/e2e/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

readme="$e2e_root/README.md"
bin_dir=$(cd "$(dirname "$TRENT_BIN")" && pwd)

# The fenced block right after `<!-- example: NAME -->`.
block() { # name
    awk -v marker="<!-- example: $1 -->" '
        $0 == marker { found = 1; next }
        found && !inside && /^```/ { inside = 1; next }
        inside && /^```/ { exit }
        inside { print }' "$readme"
}

# Example NAME as the test runs it: the binary under test for `cargo run`, the server at
# 127.0.0.1:PORT (with no port: the address as written).
as_written() { # name [port]
    local to=${2:+127.0.0.1:$2}
    block "$1" | sed -e "s|cargo run --release -p trent --|\"$TRENT_BIN\"|" \
        -e "s|http://127.0.0.1:4599|http://${to:-127.0.0.1:4599}|g"
}

step "every shell example of the README is marked, and every marked one is run below"
unmarked=$(awk '/^```sh/ && prev !~ /^<!-- example: / { print NR } { prev = $0 }' "$readme")
[[ -z "$unmarked" ]] || fail "README.md: shell examples without an example marker at lines: $unmarked"
names=$(sed -n 's/^<!-- example: \([a-z0-9-]*\) -->$/\1/p' "$readme" | sort | tr '\n' ' ')
expect_eq "the README's examples" \
    "aws-managed aws-managed-config quickstart serve serve-in-memory simulate walkthrough walkthrough-config walkthrough-profile worked-example worked-example-config worked-example-explain " \
    "$names"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Runs the examples NAMES..., concatenated, with bash in directory $dir against 127.0.0.1:$port,
# `trent` on PATH; their combined output is in $out. Background jobs they start are stopped.
run_examples() { # dir port names...
    local dir=$1 port=$2
    shift 2
    local script="$work/example.sh" name
    {
        echo 'shopt -s expand_aliases'
        echo "trap 'kill \$(jobs -p) 2>/dev/null; wait' EXIT"
        for name in "$@"; do
            as_written "$name" "$port"
        done
    } >"$script"
    out="$work/example.out"
    (cd "$dir" && PATH="$bin_dir:$PATH" TRENT_LISTEN="127.0.0.1:$port" bash "$script" >"$out" 2>&1) || true
}

expect_output() { # what text...
    local what=$1 text
    shift
    for text in "$@"; do
        grep -qF -- "$text" "$out" || fail "$what: no [$text] in its output:"$'\n'"$(cat "$out")"
    done
}

# Starts a server as the example's own command line does, and stops it once it listens.
started() { # name expected-line-part
    local dir="$work/$1" port
    mkdir -p "$dir"
    port=$(free_port)
    local script="$work/$1.sh"
    as_written "$1" >"$script"
    (cd "$dir" && TRENT_LISTEN="127.0.0.1:$port" RUST_LOG=info exec bash "$script" >"$dir/log" 2>&1) &
    local pid=$! i
    for ((i = 0; i < 300; i++)); do
        grep -q "listening on http://127.0.0.1:$port" "$dir/log" && break
        sleep 0.1
    done
    pkill -TERM -P "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    grep -qF -- "$2" "$dir/log" || fail "$1: no [$2] in its log:"$'\n'"$(cat "$dir/log")"
}

step "serve and serve-in-memory: the two commands that start the server"
started serve "trent-data"
started serve-in-memory "in memory"

step "quickstart: create, alias, encrypt and decrypt with the aws CLI as test/test"
start_server "$work/quickstart-data"
port=${endpoint##*:}
mkdir -p "$work/quickstart"
run_examples "$work/quickstart" "$port" quickstart
expect_output quickstart "hello" "InvalidCiphertextException"
stop_server

step "worked example: the grant nobody can see, then explain and access"
mkdir -p "$work/worked"
block worked-example-config | sed '/^# trent.toml$/d' >"$work/worked/trent.toml"
run_examples "$work/worked" "$(free_port)" worked-example worked-example-explain
expect_output "worked example" \
    '"Grants": []' \
    "$(printf 'db-password' | base64)" \
    "AccessDeniedException" \
    "because no resource-based policy allows the kms:Decrypt action" \
    "DENY (implicit) kms:Decrypt" \
    "why not: what came closest to allowing it" \
    "would have allowed it, but it was retired at" \
    "KNOWN IDENTITIES"

step "walkthrough: a role made through IAM, assumed through an aws profile"
start_server "$work/walkthrough-data"
port=${endpoint##*:}
mkdir -p "$work/walkthrough"
run_examples "$work/walkthrough" "$port" walkthrough
access_key=$(sed -n 's/.*"AccessKeyId": "\([^"]*\)".*/\1/p' "$out")
secret_key=$(sed -n 's/.*"SecretAccessKey": "\([^"]*\)".*/\1/p' "$out")
[[ -n "$access_key" && -n "$secret_key" ]] || fail "walkthrough: no access key in:"$'\n'"$(cat "$out")"
block walkthrough-config | sed -e "s|<ops's AccessKeyId>|$access_key|" \
    -e "s|<ops's SecretAccessKey>|$secret_key|" -e "s|http://127.0.0.1:4599|$endpoint|" \
    >"$work/walkthrough/aws-config"
(
    export AWS_CONFIG_FILE="$work/walkthrough/aws-config"
    # The aws CLI caches assumed-role sessions under ~/.aws/cli/cache: a HOME of its own, so
    # that a session from an earlier run (unknown to this server) is not reused.
    export HOME="$work/walkthrough-home"
    unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION
    run_examples "$work/walkthrough" "$port" walkthrough-profile
    expect_output "walkthrough profile" "arn:aws:sts::000000000000:assumed-role/app/" '"KeyId"'
)
stop_server

step "simulate: trent policy simulate on the README's question"
mkdir -p "$work/simulate"
run_examples "$work/simulate" 9 simulate
expect_output simulate "Allow" "grant g1"

step "aws-managed: S3 acting for alice may use alias/aws/s3, alice directly may not"
block aws-managed-config >"$work/aws-managed.toml"
start_server "$work/aws-managed-data" "$work/aws-managed.toml"
port=${endpoint##*:}
mkdir -p "$work/aws-managed"
printf 'hello' >"$work/aws-managed/plain.txt"
(
    export AWS_DEFAULT_REGION=us-east-1
    run_examples "$work/aws-managed" "$port" aws-managed
    expect_output aws-managed '"CiphertextBlob"' "AccessDeniedException"
)
stop_server

echo "PASS: tests/e2e/readme_examples.sh"
