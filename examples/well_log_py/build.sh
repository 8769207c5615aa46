#!/usr/bin/env bash
# Builds the Python well_log model into target/guests/python/well_log_py.wasm
# (componentize-py, see sdk/python/build-component.sh) and prints its path.
set -euo pipefail
cd "$(dirname "$0")"
exec ../../sdk/python/build-component.sh well_log_py model
