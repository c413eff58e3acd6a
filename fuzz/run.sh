#!/usr/bin/env bash
# Run one fuzz target for a time slice, politely (one fuzzer at a time on a shared machine):
#   fuzz/run.sh TARGET [SECONDS] [extra corpus folders...]
# New inputs go to fuzz/work/TARGET (ignored by git), findings to fuzz/artifacts/TARGET; the run
# keeps going past findings. The last lines of the log give executions and corpus size.
set -euo pipefail
cd "$(dirname "$0")"
target=$1
secs=${2:-900}
shift $(( $# >= 2 ? 2 : 1 ))
# cargo fuzz builds with AddressSanitizer, whose quarantine keeps up to 256 MB of freed memory:
# the `render` target (much allocated and freed per input) then passes -rss_limit_mb=512 after a
# few dozen inputs with no real growth (docs/reliability.md). A smaller quarantine keeps the limit
# meaningful.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=32}
mkdir -p "work/$target" "artifacts/$target" logs
nice -n 19 cargo +nightly fuzz run -O "$target" "work/$target" "corpus/$target" "$@" -- \
  -dict="dict/$target.dict" -max_total_time="$secs" -rss_limit_mb=512 -timeout=10 \
  -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
  -artifact_prefix="artifacts/$target/" -print_final_stats=1 \
  2>&1 | tee "logs/$target-$(date -u +%Y%m%dT%H%M%SZ).log"
