#!/bin/sh
# EC2 user-data: paste as the launch template's user data (cloud-init runs it once, as
# root, on the first boot of a stock Linux image: Amazon Linux 2023, Debian, Ubuntu).
# It downloads waiter's single executable, writes the systemd unit and the kitchen's
# environment file, and starts WAITERS waiters named <instance id>/1 … <instance id>/N.
#
# Spot interruption: EC2 warns two minutes ahead (spot/instance-action in the instance
# metadata); each waiter (--interruptions aws) sees it within 5 s, stops claiming, sends
# its running orders SIGTERM, puts them back READY at once (not counted as an attempt)
# and exits before the box goes; another box takes them over without waiting. Should a
# waiter miss the notice, the shutdown's SIGTERM still drains it as `systemctl stop` does;
# whatever a box could not hand back (it was cut off first) stays RUNNING with a lease no
# one renews, and another waiter takes it over once --lease has passed: re-run, not lost.
#
# User data can be read by anything on the box (the instance metadata service) and by
# whoever may describe the instance: keep the password out of it where you can, e.g.
#   KITCHEN=$(aws ssm get-parameter --name /waiter/kitchen --with-decryption --query Parameter.Value --output text)
set -eu

# ---- set these ---------------------------------------------------------------------
WAITER_URL='https://example.com/waiter-linux-x64' # where you put dist/waiter-linux-x64
WAITERS=2                                          # waiters on this box (e.g. its vCPUs)
KITCHEN='mongodb://user:password@kitchen.example.com:27017/?authSource=admin'
DB=waiter
LIST=orders
DELIVER='/opt/jobs/crunch.sh --flag x'             # the program and its fixed arguments
# -------------------------------------------------------------------------------------

# Everything is written under ROOT ('' on a box; a test runs this in a folder).
ROOT=${WAITER_ROOT:-}
umask 022
mkdir -p "$ROOT/usr/local/bin" "$ROOT/etc/systemd/system" "$ROOT/etc/waiter"

curl -fsSL --retry 5 --retry-connrefused -o "$ROOT/usr/local/bin/waiter.part" "$WAITER_URL"
chmod 755 "$ROOT/usr/local/bin/waiter.part"
mv "$ROOT/usr/local/bin/waiter.part" "$ROOT/usr/local/bin/waiter"

# cloud-init has written the instance id by the time user data runs.
INSTANCE_ID=$(cat "$ROOT/var/lib/cloud/data/instance-id")

# The orders run as this user, not as root.
id waiter >/dev/null 2>&1 || useradd --system --home-dir /var/lib/waiter --shell /usr/sbin/nologin waiter

(
  umask 077
  cat > "$ROOT/etc/waiter/kitchen.env" <<ENV
WAITER_KITCHEN=$KITCHEN
WAITER_DB=$DB
WAITER_LIST=$LIST
WAITER_BOX=$INSTANCE_ID
WAITER_INTERRUPTIONS=aws
WAITER_DELIVER=$DELIVER
ENV
)

# deploy/waiter@.service, as it is in the repository (a test keeps the two the same).
cat > "$ROOT/etc/systemd/system/waiter@.service" <<'UNIT'
# One waiter per instance of this template: `systemctl enable --now waiter@1 waiter@2`
# starts two, named <WAITER_BOX>/1 and <WAITER_BOX>/2 (the host name unless the
# environment file sets WAITER_BOX; deploy/ec2-user-data.sh sets the instance id).
# Install: this file as /etc/systemd/system/waiter@.service, the executable as
# /usr/local/bin/waiter, and /etc/waiter/kitchen.env (root only, mode 600) with
#   WAITER_KITCHEN=mongodb://user:password@host:27017/?authSource=admin
#   WAITER_DB=waiter
#   WAITER_LIST=orders
#   WAITER_DELIVER=/opt/jobs/crunch.sh --flag x
#   WAITER_INTERRUPTIONS=aws   (optional: aws, gcp or off; see Spot boxes below)
# The kitchen comes from that file, never from the command line: argv is visible to
# every user in ps, and the URL holds a password. The orders do not inherit it: they get
# WAITER_KITCHEN with the password as *** and WAITER_KITCHEN_FILE, a mode-600 file of the
# full URL for a `waiter` they run (docs/the-command.md: what an order's environment holds).
# WAITER_DELIVER is split at spaces (no quoting): a command whose arguments hold spaces
# goes in a wrapper script.
#
# Stopping drains: SIGTERM to waiter only (KillMode=mixed; the orders' processes are its
# to stop), which stops claiming and lets running orders finish for --grace (one --lease:
# a stop holds an order up no longer than a crash would), then kills them and puts them
# back READY. TimeoutStopSec covers that (--grace + --kill-after + 20 s to record it), so
# systemd never SIGKILLs a waiter that is still draining. Change the three together.
#
# Spot boxes: --interruptions watches the cloud's notice (aws: EC2's, 2 min ahead; gcp:
# Compute Engine's, 30 s ahead): the waiter stops claiming, SIGTERMs running orders and
# puts them back READY at once for another box, then exits 0 (1 if an order it delivered
# failed) and is not restarted; a box stopped comes back with the unit started at boot,
# one hibernated with no waiter (README: On spot boxes). off unless the environment file
# sets WAITER_INTERRUPTIONS=aws or gcp (deploy/ec2-user-data.sh writes aws); an empty
# value is a usage error (exit 2, not restarted): leave the line out for off.
[Unit]
Description=waiter %i: deliver orders from the kitchen
Wants=network-online.target
After=network-online.target

[Service]
Type=exec
User=waiter
Group=waiter
# /var/lib/waiter, owned by the user: the working folder of the orders.
StateDirectory=waiter
WorkingDirectory=/var/lib/waiter
Environment=WAITER_BOX=%H
Environment=WAITER_INTERRUPTIONS=off
EnvironmentFile=/etc/waiter/kitchen.env
ExecStart=/usr/local/bin/waiter --name ${WAITER_BOX}/%i deliver --interruptions ${WAITER_INTERRUPTIONS} --lease 60s --grace 60s --kill-after 10s $WAITER_DELIVER
KillSignal=SIGTERM
KillMode=mixed
TimeoutStopSec=90s
Restart=on-failure
RestartSec=10s
# 1: some orders failed (recorded in the kitchen; the waiter did its work);
# 130/143: stopped by SIGINT/SIGTERM after draining. `waiter stop` (from any box)
# ends the waiter with 0, or 1 when an order it delivered failed: both successes
# here, so Restart=on-failure does not start it again.
SuccessExitStatus=1 130 143
# 2: bad options, 5/6: the waiter stopped itself (this box cannot run orders, or too
# many failed in a row): a restart cannot help, or would undo the stop.
RestartPreventExitStatus=2 5 6

[Install]
WantedBy=multi-user.target
UNIT

systemctl daemon-reload
i=1
units=
while [ "$i" -le "$WAITERS" ]; do
  units="$units waiter@$i"
  i=$((i + 1))
done
# shellcheck disable=SC2086 # one word per unit
systemctl enable --now $units
