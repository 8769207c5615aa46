#!/usr/bin/env bash
# Builds the numpy well_log model into target/guests/python/well_log_numpy.wasm
# (componentize-py with numpy built for the sandbox, see
# sdk/python/build-component.sh and sdk/python/numpy/build-numpy.sh) and
# prints its path. The first build compiles numpy (about 2 minutes; cached).
set -euo pipefail
cd "$(dirname "$0")"
exec ../../sdk/python/build-component.sh well_log_numpy predictor --with numpy
