#!/usr/bin/env bash
# Long run of the reliability, property and fuzz suites (docs/safety.md): 20x the property runs,
# a minute per fuzz target, a 100 MB agent event. Extra arguments go to vitest (e.g. a file).
# Replay a fast-check failure with THERMOS_GC_SOAK_SEED=<seed printed in the failure>.
set -euo pipefail
cd "$(dirname "$0")/.."
export THERMOS_GC_SOAK=1
if [ "$#" -eq 0 ]; then set -- test/reliability test/properties test/fuzz; fi
exec npx vitest run "$@"
