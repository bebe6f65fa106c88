#!/usr/bin/env bash
# Installs what otpcpp needs to build and test, from Debian's packages.
# Idempotent and quiet when everything is already there. Needs root (or sudo).
#   scripts/deps.sh          build + test dependencies (Erlang/OTP and Elixir too:
#                            the distribution tests and the demo talk to real BEAM nodes)
#   scripts/deps.sh --bench  also CAF for bench/compare
#   scripts/deps.sh --fuzz   also clang and libFuzzer (scripts/fuzz.sh)
set -euo pipefail
pkgs=(build-essential cmake ninja-build libboost-context-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev libasio-dev zlib1g-dev libssl-dev python3 erlang-nox elixir)
[[ "${1:-}" == "--bench" ]] && pkgs+=(libcaf-dev)
[[ "${1:-}" == "--fuzz" ]] && pkgs+=(clang-14 libclang-rt-14-dev)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
