#!/usr/bin/env bash
# Builds the JavaScript well_log model into target/guests/js/well_log_js.wasm
# (componentize-js, pinned in this folder's package.json; see
# sdk/js/build-component.sh) and prints its path.
set -euo pipefail
cd "$(dirname "$0")"
exec ../../sdk/js/build-component.sh well_log_js model
