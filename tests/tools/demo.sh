#!/usr/bin/env bash
# `make demo`: configure the lab's Exchange organisation with playbooks/site.yml and show that it is
# idempotent. Starts the lab, runs check mode (plans, writes nothing), applies, applies again (must
# report changed=0), reads the result back over PowerShell remoting, and always stops the lab.
set -euo pipefail

BIN=${BIN:-.venv/bin}
LAB_DIR=${LAB_DIR:-tests/output/lab}
DEMO_VARS=${DEMO_VARS:-playbooks/vars/demo.yml}
LOGS=${DEMO_LOGS:-tests/output/demo}
INVENTORY=$LAB_DIR/inventory.yml

step() { printf '\n=== %s\n' "$*"; }
stop_lab() { step "stopping the lab"; make --no-print-directory lab-down || true; }

mkdir -p "$LOGS"
trap stop_lab EXIT
step "starting the lab (make lab-up)"
make --no-print-directory lab-up
[ -s "$INVENTORY" ] || { echo "the lab wrote no inventory at $INVENTORY" >&2; exit 1; }

play() { "$BIN/ansible-playbook" playbooks/site.yml -i "$INVENTORY" -e "@$DEMO_VARS" "$@"; }

"$BIN/python" tests/tools/lab_report.py --inventory "$INVENTORY" --save "$LOGS/before.json" --quiet

step "1/4 check mode: every planned change, nothing written (ansible-playbook --check --diff)"
play --check --diff | tee "$LOGS/check.log"
"$BIN/python" tests/tools/recap.py "$LOGS/check.log"
"$BIN/python" tests/tools/lab_report.py --inventory "$INVENTORY" --expect-same "$LOGS/before.json" --quiet

step "2/4 apply"
play --diff | tee "$LOGS/apply.log"
"$BIN/python" tests/tools/recap.py "$LOGS/apply.log"

step "3/4 apply again: nothing may change"
play | tee "$LOGS/again.log"
"$BIN/python" tests/tools/recap.py --expect-unchanged "$LOGS/again.log"

step "4/4 what Exchange now holds (read back over PowerShell remoting)"
"$BIN/python" tests/tools/lab_report.py --inventory "$INVENTORY" --save "$LOGS/after.json"
step "demo passed: logs in $LOGS"
