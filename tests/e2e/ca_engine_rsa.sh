#!/bin/bash
# The CA engine end to end with rsa keys (see lib/ca_engine.sh).
exec bash "$(dirname "$0")/lib/ca_engine.sh" rsa
