#!/usr/bin/env bash
# The main job: a surge against the reference target, unprotected and
# protected side by side, with recovery verdicts and an HTML report.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p out
exec ./bin/loadgen run surge-recovery --out out
