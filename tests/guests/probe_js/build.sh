#!/usr/bin/env bash
# Builds the JavaScript probe model into target/guests/js/probe_js.wasm
# (componentize-js, see sdk/js/build-component.sh) and prints its path.
set -euo pipefail
cd "$(dirname "$0")"
exec ../../../sdk/js/build-component.sh probe_js model
