#!/bin/bash
# Interesting iff `mlir-opt FILE` (mlir-19-tools 1:19.1.7) dies with SIGSEGV (exit 139) while it
# parses, with mlir::scf::ForallOp::ensureTerminator( among frames 4-15 of its stack dump
# (llvm/llvm-project#132865). mlir-opt's report is passed on to stderr, so that a reducer can
# see where the failure is.
# Usage: interesting.sh [FILE]   (no argument: ./input.mlir, the C-Vise convention)
f=${1:-input.mlir}
M=${MLIR_OPT:-/usr/lib/llvm-19/bin/mlir-opt}
export LLVM_DISABLE_SYMBOLIZATION=1   # stable frame text, and faster crashes
out=$(timeout 10 "$M" "$f" -o /dev/null 2>&1)
status=$?
printf '%s\n' "$out" >&2
[ $status -eq 139 ] || exit 1
top=$(printf '%s\n' "$out" | grep -aE '^[0-9]+ +[^ ]+ +0x' | sed -n '5,16p')
grep -qF -- 'mlir::scf::ForallOp::ensureTerminator(' <<<"$top" || exit 1
exit 0
