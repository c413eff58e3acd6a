#!/bin/sh
# Runs the batch benchmark (benches/batch.rs); installs evtx_dump (the evtx crate's CLI, the same
# version rdsdiag links) first when it is not on PATH or in ~/.cargo/bin.
set -eu
cd "$(dirname "$0")/.."
if ! command -v evtx_dump >/dev/null 2>&1 && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/evtx_dump" ]; then
    cargo install evtx --version 0.15.1 --locked
fi
exec cargo bench --bench batch "$@"
