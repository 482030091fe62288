#!/usr/bin/env bash
# Calls the export cron endpoints of a running app:
#   ./scripts/test-cron-endpoints.sh http://localhost:3000 <CRON_SECRET>
# 1. export metrics aggregation   2. export file cleanup   3. export log cleanup
# 4. security check: a wrong secret must get 401.
# The two cleanups run as dry runs (nothing is removed) unless LIVE=1 is set.
# Exits 1 when a check failed, 2 on wrong usage.
set -u

if [ $# -ne 2 ] || [ -z "$1" ] || [ -z "$2" ]; then
  echo "usage: $0 BASE_URL CRON_SECRET   (e.g. $0 http://localhost:3000 \"\$CRON_SECRET\")" >&2
  exit 2
fi
if ! command -v curl >/dev/null 2>&1; then
  echo "curl is required" >&2
  exit 2
fi

BASE_URL="${1%/}"
SECRET="$2"
DRY="?dryRun=1"
[ "${LIVE:-0}" = "1" ] && DRY=""
FAILED=0
BODY="$(mktemp)"
trap 'rm -f "$BODY"' EXIT

# check NAME PATH EXPECTED_STATUS [AUTH_VALUE]
check() {
  local name="$1" path="$2" expected="$3" auth="${4-}"
  local status
  if [ -n "$auth" ]; then
    # The secret goes through a header file on stdin, so it never shows in the process list.
    status="$(printf 'Authorization: Bearer %s\n' "$auth" | curl -sS -o "$BODY" -w '%{http_code}' --max-time 330 -H @- "$BASE_URL$path")" || status="000"
  else
    status="$(curl -sS -o "$BODY" -w '%{http_code}' --max-time 330 "$BASE_URL$path")" || status="000"
  fi
  if [ "$status" = "$expected" ] && { [ "$expected" != "200" ] || grep -q '"success":true' "$BODY"; }; then
    echo "✅ PASSED: $name (HTTP $status)"
  else
    echo "❌ FAILED: $name (HTTP $status, expected $expected): $(head -c 300 "$BODY")"
    FAILED=1
  fi
}

check "Export metrics aggregation" "/api/cron/export-metrics-aggregate" 200 "$SECRET"
check "Export file cleanup" "/api/cron/export-file-cleanup$DRY" 200 "$SECRET"
check "Export log cleanup" "/api/cron/export-log-cleanup$DRY" 200 "$SECRET"
check "Security check (wrong secret: 401 Unauthorized expected)" "/api/cron/export-file-cleanup" 401 "not-the-secret-$RANDOM$RANDOM"

exit "$FAILED"
