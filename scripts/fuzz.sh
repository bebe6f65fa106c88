#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/*_fuzz.cpp, ASan+UBSan) with clang
# and runs each for SECONDS (default 60), starting from its seed corpus
# tests/fuzz/corpus/<target>/. New inputs go to <build>/corpus/<target>/ and
# crashes to <build>/artifacts/<target>/; the seeds in the tree are not touched.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# Environment: OTP_FUZZ_BUILD_DIR (default build/fuzz), CXX_FUZZ (default
# clang++-14), FUZZ_JOBS (build parallelism, default 2), FUZZ_ARGS (extra
# libFuzzer flags, e.g. "-max_len=65536").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
shift || true
build=${OTP_FUZZ_BUILD_DIR:-$root/build/fuzz}
cxx=${CXX_FUZZ:-$(command -v clang++-14 || command -v clang++ || true)}
[[ -n "$cxx" ]] || { echo "fuzz.sh: clang++ not found (install clang-14 and libclang-rt-14-dev)" >&2; exit 2; }

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DOTP_FUZZ=ON -DOTP_BUILD_TESTS=OFF -DOTP_BUILD_BENCH=OFF -DOTP_BUILD_EXAMPLES=OFF >/dev/null

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for source in "$root"/tests/fuzz/*_fuzz.cpp; do targets+=("$(basename "$source" .cpp)"); done
fi
cmake --build "$build" -j "${FUZZ_JOBS:-2}" --target "${targets[@]}"

status=0
for target in "${targets[@]}"; do
  seeds="$root/tests/fuzz/corpus/$target"
  corpus="$build/corpus/$target"
  artifacts="$build/artifacts/$target/"
  mkdir -p "$seeds" "$corpus" "$artifacts"
  echo "== $target: ${seconds}s"
  # shellcheck disable=SC2086  # FUZZ_ARGS is a list of flags
  if ! "$build/tests/fuzz/$target" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$artifacts" ${FUZZ_ARGS:-} "$corpus" "$seeds"; then
    echo "== $target: FAILED, reproducer in $artifacts" >&2
    status=1
  fi
done
exit $status
