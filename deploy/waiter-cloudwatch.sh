#!/bin/sh
# Publishes the list's backlog per live waiter to CloudWatch (AWS's "backlog per
# instance"), for an EC2 Auto Scaling group's target-tracking policy
# (deploy/cloudwatch-target-tracking.json). Run every minute by waiter-cloudwatch.timer.
# Install: this file as /usr/local/bin/waiter-cloudwatch (mode 755), the two units in
# /etc/systemd/system, then `systemctl enable --now waiter-cloudwatch.timer`; the kitchen
# comes from /etc/waiter/kitchen.env, as for waiter@.service.
#
# Run it on ONE box that stays up (the one running `waiter serve`, say), not on the
# group's boxes: a group scaled in to nothing would publish nothing, and nothing would
# scale it out again. The box needs the aws CLI and a role allowed cloudwatch:PutMetricData
# (the CLI finds the instance's role itself; set AWS_REGION in kitchen.env off EC2).
#
# What it publishes (namespace Waiter, metric BacklogPerWaiter, unit Count, dimensions
# Database and List: the kitchen's WAITER_DB and WAITER_LIST, waiter's defaults when unset):
#   - status's backlogPerWaiter: the orders a waiter could claim now (READY due now and
#     stale RUNNING) per live waiter that claims;
#   - with no such waiter (none yet, or all asked to stop by `waiter stop`; status says
#     null, /metrics +Inf): the backlog itself, as if one waiter held it all, so a backlog
#     above the target still reads above it and the group scales out; 0 with no backlog.
# The kitchen unreachable: nothing is published and the service fails (journalctl -u
# waiter-cloudwatch); target tracking treats the missing minute as no data, not as zero.
set -eu

NAMESPACE=Waiter
METRIC=BacklogPerWaiter
WAITER=${WAITER_EXECUTABLE:-/usr/local/bin/waiter}
DB=${WAITER_DB:-waiter}
LIST=${WAITER_LIST:-orders}

# The dimensions go in the CLI's shorthand (Name=Value,Name=Value): no ',' or '=' in them.
case "$DB$LIST" in
*,* | *=*)
  echo "waiter-cloudwatch: WAITER_DB and WAITER_LIST may not hold ',' or '=' here" >&2
  exit 2
  ;;
esac

# One line of JSON; the two numbers are read from it with sed (no jq on a stock image).
status=$("$WAITER" status --json)
backlog=$(printf '%s\n' "$status" | sed -n -E 's/.*"backlog":([0-9]+)[,}].*/\1/p')
per=$(printf '%s\n' "$status" | sed -n -E 's/.*"backlogPerWaiter":(null|[0-9]+(\.[0-9]+)?)[,}].*/\1/p')
if [ -z "$backlog" ] || [ -z "$per" ]; then
  echo "waiter-cloudwatch: no backlog or backlogPerWaiter in waiter status --json" >&2
  exit 1
fi
if [ "$per" = null ]; then value=$backlog; else value=$per; fi

echo "$METRIC $value (backlog $backlog, per claiming waiter $per) for $DB/$LIST"
exec aws cloudwatch put-metric-data --namespace "$NAMESPACE" --metric-name "$METRIC" \
  --unit Count --value "$value" --dimensions "Database=$DB,List=$LIST"
