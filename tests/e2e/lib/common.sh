# Shared pieces of the aws CLI end-to-end scripts: a hermetic aws CLI, starting and stopping the
# real `trent serve` binary, and assertions. Source it after `set -euo pipefail`; it needs
# TRENT_BIN (set by crates/trent/tests/it/e2e_scripts.rs) and `aws` on PATH (scripts/test).
# shellcheck shell=bash

e2e_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
TRENT_BIN=${TRENT_BIN:-$e2e_root/target/debug/trent}
if [[ ! -x "$TRENT_BIN" ]]; then
    echo "TRENT_BIN=$TRENT_BIN is not an executable (run cargo build -p trent)" >&2
    exit 1
fi
if ! command -v aws >/dev/null; then
    echo "no 'aws' on PATH; run scripts/test (it installs the pinned awscli in .venv)" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/trent-e2e.XXXXXX")
server_pid=""
server_log=""
endpoint=""
starts=0

e2e_cleanup() {
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
trap e2e_cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

step() {
    echo "== $*"
}

expect_eq() { # description expected actual
    if [[ "$2" != "$3" ]]; then
        fail "$1"$'\n'"  expected: [$2]"$'\n'"  actual:   [$3]"
    fi
}

# The aws CLI, hermetic: no config files, no instance metadata, no ambient credentials.
export AWS_CONFIG_FILE="$work/no-aws-config" AWS_SHARED_CREDENTIALS_FILE="$work/no-aws-credentials"
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ENDPOINT_URL \
    AWS_ENDPOINT_URL_KMS AWS_CA_BUNDLE

# Starts `trent serve` on 127.0.0.1:0 with data dir $1, config $2 (optional; "" for none) and
# further `serve` arguments after it; sets $endpoint.
start_server() { # data-dir [config [serve-args...]]
    starts=$((starts + 1))
    server_log="$work/server.$starts.log"
    # Created here, not by the background job's redirection, so that the first read of the log
    # below cannot run before the file exists (sed would fail and set -e end the script).
    : >"$server_log"
    local args=(serve --listen 127.0.0.1:0 --data-dir "$1")
    [[ $# -ge 2 && -n "$2" ]] && args+=(--config "$2")
    [[ $# -ge 3 ]] && args+=("${@:3}")
    env -u TRENT_ROOT_KEY -u TRENT_CONFIG -u TRENT_LISTEN -u TRENT_DATA_DIR -u TRENT_AUTHZ \
        RUST_LOG=info "$TRENT_BIN" "${args[@]}" >/dev/null 2>"$server_log" &
    server_pid=$!
    local addr="" i
    for ((i = 0; i < 300; i++)); do
        addr=$(sed -n 's|.*listening on http://\([^,]*\), data dir .*|\1|p' "$server_log")
        [[ -n "$addr" ]] && break
        kill -0 "$server_pid" 2>/dev/null || fail "server exited during startup"
        sleep 0.1
    done
    [[ -n "$addr" ]] || fail "server did not log its address within 30 s"
    endpoint="http://$addr"
    echo "   server $starts: pid $server_pid on $endpoint"
}

# Runs `aws kms OP ARGS...` as the identity whose keys are in the named variables, and asserts
# it fails as a service error with exactly CODE and MESSAGE.
expect_kms_error() { # code message op args... (credentials from the environment)
    local code=$1 message=$2 op=$3
    shift 3
    local out="$work/err.out" err="$work/err.err" rc=0
    aws --endpoint-url "$endpoint" kms "$op" "$@" >"$out" 2>"$err" || rc=$?
    local operation
    operation=$(sed -E 's/(^|-)([a-z])/\U\2/g' <<<"$op")
    # awscli v1 exits 255 on a service error and prints a blank line, then the error.
    expect_eq "$op exit status (stderr: $(cat "$err"))" 255 "$rc"
    expect_eq "$op stdout" "" "$(cat "$out")"
    expect_eq "$op error" \
        "An error occurred ($code) when calling the $operation operation: $message" \
        "$(grep -v '^$' "$err")"
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

# Prints a Python expression evaluated on the JSON file $1 (as `d`).
field() { # json-file python-expression-on-d
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# Runs `aws SERVICE OP ARGS...` and asserts it fails with exactly CODE and MESSAGE.
expect_aws_error() { # code message service op args...
    local code=$1 message=$2 service=$3 op=$4
    shift 4
    local out="$work/err.out" err="$work/err.err" rc=0
    aws --endpoint-url "$endpoint" "$service" "$op" "$@" >"$out" 2>"$err" || rc=$?
    local operation
    operation=$(sed -E 's/(^|-)([a-z])/\U\2/g' <<<"$op")
    expect_eq "$service $op exit status (stderr: $(cat "$err"))" 255 "$rc"
    expect_eq "$service $op error" \
        "An error occurred ($code) when calling the $operation operation: $message" \
        "$(grep -v '^$' "$err")"
}
