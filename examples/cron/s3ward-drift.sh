#!/usr/bin/env bash
# s3ward-drift.sh: run `s3ward drift` on one plan file from cron, and alert when AWS no
# longer matches it (exit 2) or when the check itself failed (exit 1 or anything else).
#
# Usage: s3ward-drift.sh PLAN_FILE [S3WARD_OPTION...]
#   e.g. s3ward-drift.sh /etc/s3ward/plans/ml-models.toml --region eu-west-1
#
# Environment:
#   S3WARD     the s3ward binary (default: `s3ward` on PATH)
#   ALERT_CMD  a shell command (run with /bin/sh -c) on drift or error; unset: no command,
#              and cron mails what this script prints (set MAILTO in the crontab).
#              The command reads the JSON report (drift) or s3ward's error output (error)
#              on stdin, and finds in its environment:
#                S3WARD_ALERT      `drift` or `error`
#                S3WARD_EXIT_CODE  s3ward's exit code
#                S3WARD_PLAN       the plan file
#                S3WARD_REPORT     a file with the JSON report (empty if s3ward printed none)
#                S3WARD_STDERR     a file with s3ward's stderr
#   AWS_*      the usual AWS settings (AWS_PROFILE, AWS_REGION, ...), passed to s3ward
#
# Prints nothing when AWS matches the plan file (so cron mails nothing), the JSON report on
# stdout when it does not, and s3ward's warnings and errors on stderr.
# Exits with s3ward's exit code: 0 in sync, 2 differences, 1 error.
set -uo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: ${0##*/} PLAN_FILE [S3WARD_OPTION...]" >&2
  exit 1
fi
plan=$1
shift
s3ward=${S3WARD:-s3ward}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/s3ward-drift.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
report=$tmp/report.json
errors=$tmp/stderr.txt

"$s3ward" drift --format json "$plan" "$@" >"$report" 2>"$errors"
code=$?

case $code in
  0) kind= ;;
  2) kind=drift ;;
  *) kind=error ;;
esac

cat "$errors" >&2
[[ -n $kind ]] && cat "$report"

if [[ -n $kind && -n ${ALERT_CMD:-} ]]; then
  if [[ $kind == drift ]]; then input=$report; else input=$errors; fi
  S3WARD_ALERT=$kind S3WARD_EXIT_CODE=$code S3WARD_PLAN=$plan \
    S3WARD_REPORT=$report S3WARD_STDERR=$errors \
    /bin/sh -c "$ALERT_CMD" <"$input"
  alert=$?
  if [[ $alert -ne 0 ]]; then
    echo "${0##*/}: the alert command failed (exit $alert) for $kind in $plan" >&2
  fi
fi
exit "$code"
