#!/usr/bin/env bash
# Builds the Python probe model into target/guests/python/probe_py.wasm
# (componentize-py, see sdk/python/build-component.sh) and prints its path.
set -euo pipefail
cd "$(dirname "$0")"
exec ../../../sdk/python/build-component.sh probe_py model
