#!/usr/bin/env bash
# End-to-end test, with the `aws` CLI (v1), of IAM and STS calls going through the same
# authorizer as KMS calls: an IAM user's identity policy decides what it may do in IAM (AWS's
# exact AccessDenied messages for a missing allow and an explicit deny), `--authz audit` lets a
# denied IAM call through and marks it, `--authz off` allows it, the audit record of an IAM or
# STS call carries its trentAuthorization decisions, and user/role tags can be listed and removed.
#
#   PATH="$PWD/.venv/bin:$PATH" TRENT_BIN=target/debug/trent tests/e2e/iam_authz.sh
set -euo pipefail
# shellcheck source=tests/e2e/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

data="$work/data"
account=000000000000
export AWS_DEFAULT_REGION=us-east-1

a() { aws --endpoint-url "$endpoint" "$@"; }
as_root() { export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test; }
as_dev() { export AWS_ACCESS_KEY_ID=$dev_key AWS_SECRET_ACCESS_KEY=$dev_secret; }
stop() {
    kill -TERM "$server_pid"
    wait "$server_pid" || true
    server_pid=""
}


# The last audit record whose eventName is $1, as JSON.
last_record() { # event-name
    python3 - "$data/audit.log" "$1" <<'EOF'
import json, sys
records = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
matching = [r for r in records if r.get("eventName") == sys.argv[2]]
if not matching:
    sys.exit(f"no audit record for {sys.argv[2]}")
print(json.dumps(matching[-1]))
EOF
}
# Evaluates a Python expression on the audit record given as JSON in $1 (as `r`).
on_record() { # record-json expression
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

dev_arn="arn:aws:iam::$account:user/dev"
trust='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]}'
dev_policy='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListUsers","iam:GetUser","iam:TagUser","iam:ListUserTags"],"Resource":"*"},{"Effect":"Deny","Action":"iam:UntagUser","Resource":"*"}]}'

step "start the server (authorization enforced, the default)"
start_server "$data"
as_root

step "the root creates user dev with an identity policy"
a iam create-user --user-name dev >/dev/null
a iam put-user-policy --user-name dev --policy-name dev --policy-document "$dev_policy"
a iam create-access-key --user-name dev >"$work/dev.json"
dev_key=$(field "$work/dev.json" 'd["AccessKey"]["AccessKeyId"]')
dev_secret=$(field "$work/dev.json" 'd["AccessKey"]["SecretAccessKey"]')

step "dev may do what its policy allows"
as_dev
expect_eq "ListUsers" "dev" "$(a iam list-users --query 'Users[].UserName' --output text)"
a iam tag-user --user-name dev --tags Key=team,Value=kms Key=stage,Value=test
expect_eq "ListUserTags" "stage	test
team	kms" "$(a iam list-user-tags --user-name dev --query 'sort_by(Tags,&Key)[].[Key,Value]' --output text)"

step "no identity-based policy allows iam:CreateRole: AWS's message"
expect_aws_error AccessDenied \
    "User: $dev_arn is not authorized to perform: iam:CreateRole on resource: arn:aws:iam::$account:role/app because no identity-based policy allows the iam:CreateRole action" \
    iam create-role --role-name app --assume-role-policy-document "$trust"
expect_aws_error AccessDenied \
    "User: $dev_arn is not authorized to perform: iam:UntagUser on resource: $dev_arn with an explicit deny in an identity-based policy" \
    iam untag-user --user-name dev --tag-keys team
as_root
expect_aws_error NoSuchEntity "The role with name app cannot be found." iam get-role --role-name app
expect_eq "the denied untag changed nothing" "2" \
    "$(a iam list-user-tags --user-name dev --query 'length(Tags)')"

step "the audit record of a denied IAM call names the decision"
record=$(last_record CreateRole)
expect_eq "errorCode" "AccessDenied" "$(on_record "$record" 'r["errorCode"]')"
expect_eq "eventSource" "iam.amazonaws.com" "$(on_record "$record" 'r["eventSource"]')"
expect_eq "decision" "iam:CreateRole arn:aws:iam::$account:role/app ImplicitDeny" \
    "$(on_record "$record" '" ".join(str(r["trentAuthorization"]["decisions"][0][k]) for k in ("action","resource","outcome"))')"
record=$(last_record UntagUser)
expect_eq "explicit deny decision" "ExplicitDeny" \
    "$(on_record "$record" 'r["trentAuthorization"]["decisions"][0]["outcome"]')"

step "the audit record of an allowed IAM call and of an STS call"
record=$(last_record ListUsers)
expect_eq "ListUsers decision" "iam:ListUsers Allow" \
    "$(on_record "$record" 'r["trentAuthorization"]["decisions"][0]["action"] + " " + r["trentAuthorization"]["decisions"][0]["outcome"]')"
a iam create-role --role-name app --assume-role-policy-document "$trust" >/dev/null
a iam create-user --user-name ops >/dev/null
a iam put-user-policy --user-name ops --policy-name assume --policy-document \
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}'
a iam create-access-key --user-name ops >"$work/ops.json"
AWS_ACCESS_KEY_ID=$(field "$work/ops.json" 'd["AccessKey"]["AccessKeyId"]') \
    AWS_SECRET_ACCESS_KEY=$(field "$work/ops.json" 'd["AccessKey"]["SecretAccessKey"]') \
    a sts assume-role --role-arn "arn:aws:iam::$account:role/app" --role-session-name s1 >/dev/null
record=$(last_record AssumeRole)
expect_eq "AssumeRole decisions" "sts:AssumeRole arn:aws:iam::$account:role/app Allow" \
    "$(on_record "$record" '"; ".join(d["action"] + " " + d["resource"] + " " + d["outcome"] for d in r["trentAuthorization"]["decisions"])')"

step "role tags: tag, list, untag"
a iam tag-role --role-name app --tags Key=owner,Value=dev Key=tier,Value=1
a iam untag-role --role-name app --tag-keys tier
expect_eq "ListRoleTags" "owner	dev" \
    "$(a iam list-role-tags --role-name app --query 'Tags[].[Key,Value]' --output text)"
expect_aws_error NoSuchEntity "The role with name nope cannot be found." iam list-role-tags --role-name nope
a iam untag-user --user-name dev --tag-keys team
expect_eq "UntagUser as root" "stage" \
    "$(a iam list-user-tags --user-name dev --query 'Tags[].Key' --output text)"
if grep -qF "$dev_secret" "$data/audit.log"; then fail "the audit log holds dev's secret key"; fi
stop

step "--authz audit: the denied IAM call happens, marked in the record"
start_server "$data" "" --authz audit
as_dev
a iam create-role --role-name audited --assume-role-policy-document "$trust" >/dev/null
as_root
expect_eq "role exists" "audited" "$(a iam get-role --role-name audited --query Role.RoleName --output text)"
record=$(last_record CreateRole)
expect_eq "overridden" "True ImplicitDeny" \
    "$(on_record "$record" 'str(r["trentAuthorization"]["overridden"]) + " " + r["trentAuthorization"]["decisions"][0]["outcome"]')"
stop

step "--authz off: allowed without a policy"
start_server "$data" "" --authz off
as_dev
a iam delete-role --role-name audited
as_root
expect_aws_error NoSuchEntity "The role with name audited cannot be found." iam get-role --role-name audited
stop

echo "OK"
