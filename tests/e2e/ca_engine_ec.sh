#!/bin/bash
# The CA engine end to end with ec keys (see lib/ca_engine.sh).
exec bash "$(dirname "$0")/lib/ca_engine.sh" ec
