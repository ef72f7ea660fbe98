#!/bin/bash
# hall_authz.sh — the hall's authorization matrix (issue 6): every hall
# endpoint × every kind of caller, called for real against a hall and a
# CA service on loopback, compared with the expected matrix in
# hall_authz.matrix; docs/authorization.md is generated from the answers.
# The work is done by hall_authz.py (Python 3, standard library only):
# some 600 requests with cookies, CSRF tokens and client certificates
# are plainer there than in curl loops.
#
#   ONECERT_AUTHZ_WRITE=1 bash tests/e2e/hall_authz.sh   rewrites the doc
: "${ONECERT:?ONECERT must point at the onecert binary}"
exec python3 "$(dirname "$0")/hall_authz.py" "$@"
