#!/usr/bin/env bash
# `make demo`: configure the lab's Exchange organisation with playbooks/site.yml and show that it is
# idempotent. Starts the lab, runs check mode (plans, writes nothing), applies, applies again (must
# report changed=0), reads the result back over PowerShell remoting, and always stops the lab.
# KERBEROS=1: the lab also runs a real MIT KDC and every connection uses Kerberos (user@ALLEO.INTERN, hosts by
# name through nss_wrapper where it is installed, else by address with the SPN's host name given).
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
if [ "${KERBEROS:-0}" = 1 ]; then
    reason=$("$BIN/python" -c 'import lab.kerberos as k; print(k.unavailable_reason() or "")')
    [ -z "$reason" ] || { echo "make demo KERBEROS=1: $reason" >&2; exit 1; }
    step "starting the lab with a Kerberos realm (make lab-up LAB_ARGS=--kerberos)"
    make --no-print-directory lab-up LAB_ARGS=--kerberos
    # The client side of Kerberos: the lab's krb5.conf, a ticket cache of its own, the lab's host names.
    eval "$("$BIN/python" -m lab env --dir "$LAB_DIR")"
    export KRB5_CONFIG KRB5CCNAME
else
    step "starting the lab (make lab-up)"
    make --no-print-directory lab-up
fi
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
if [ "${KERBEROS:-0}" = 1 ]; then
    step "Kerberos: service tickets the lab's KDC issued, per user and server (the password went only to the KDC)"
    grep -o 'ISSUE: .* for [A-Za-z]*/[a-z0-9.]*@[A-Z.]*' "$LAB_DIR/kerberos/krb5kdc.log" | sed 's/.*, \([^,]* for .*\)$/  \1/' | sort | uniq -c
fi
step "demo passed: logs in $LOGS"
