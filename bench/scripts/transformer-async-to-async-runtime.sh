#!/bin/bash
# Case transformer-mlir22-async-to-async-runtime: a real, deterministic crash of
# upstream mlir-opt 22 (Debian mlir-22-tools 1:22.1.8-1~deb12u1) on the llama2
# transformer module (../shared/data/llama2-transformer/transformer-2025-11.mlir22.mlir).
#
# `mlir-opt --allow-unregistered-dialect FILE --async-to-async-runtime` dies with
# SIGSEGV inside a legality check of the dialect conversion: frames 4-15 of the
# stack dump hold a walk<ForwardIterator> called from ConversionTarget::isLegal.
# It crashes 10 runs of 10 on the whole module, yet no single obvious op triggers
# it (a lone scf.if, func.call, llvm.call, unregistered op or declaration does
# not), so a reducer has to find the trigger. Other crashes of the same mlir-opt
# on this module were passed over: --math-extend-to-supported-types and
# --test-vector-linearize crash on any unregistered op, --xegpu-propagate-layout
# on any llvm.func declaration (one-op answers, nothing to reduce).
#
# Interesting iff exit 139 and both frame names are among frames 4-15.
# Usage: script [FILE]   (no argument: ./transformer-2025-11.mlir22.mlir)
f=${1:-transformer-2025-11.mlir22.mlir}
M=${MLIR_OPT:-/usr/lib/llvm-22/bin/mlir-opt}
export LLVM_DISABLE_SYMBOLIZATION=1   # stable frame text, faster crashes
out=$(timeout 10 "$M" --allow-unregistered-dialect "$f" --async-to-async-runtime -o /dev/null 2>&1)
[ $? -eq 139 ] || exit 1
top=$(printf '%s\n' "$out" | grep -aE '^[0-9]+ +[^ ]+ +0x' | sed -n '5,16p')
grep -qF -- 'mlir::ConversionTarget::isLegal(' <<<"$top" || exit 1
grep -qF -- 'mlir::WalkResult mlir::detail::walk<mlir::ForwardIterator>(' <<<"$top" || exit 1
exit 0
