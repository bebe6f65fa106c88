#!/bin/sh
# Compile-fail harness: run.sh fail|pass REGEX COMPILER SOURCE [FLAGS...]
#   fail: the compiler must reject SOURCE and its output must match REGEX
#         (grep -E), i.e. the static_assert we expect, not some other error;
#   pass: the compiler must accept SOURCE (the control).
set -u
expect=$1 regex=$2 compiler=$3 source=$4
shift 4
# Drop empty flags (an empty generator expression still passes "").
for a do
  shift
  [ -n "$a" ] && set -- "$@" "$a"
done
out=$("$compiler" -std=c++20 -fsyntax-only "$@" "$source" 2>&1)
status=$?
case $expect in
  pass)
    if [ $status -ne 0 ]; then
      printf '%s\n' "$out"
      echo "FAIL: $source should compile but the compiler rejected it"
      exit 1
    fi
    echo "ok: $source compiles"
    ;;
  fail)
    if [ $status -eq 0 ]; then
      echo "FAIL: $source compiled, but it must be rejected"
      exit 1
    fi
    # The first error must be the expected one: a readable message up front,
    # not buried under instantiation noise.
    first=$(printf '%s\n' "$out" | grep -m 1 -E '(^|[[:space:]])error:')
    if ! printf '%s\n' "$first" | grep -Eq -- "$regex"; then
      printf '%s\n' "$out"
      echo "FAIL: $source was rejected, but its first error is not the expected message: $regex"
      exit 1
    fi
    echo "ok: $source rejected with: $first"
    ;;
  *)
    echo "usage: run.sh fail|pass REGEX COMPILER SOURCE [FLAGS...]"
    exit 2
    ;;
esac
