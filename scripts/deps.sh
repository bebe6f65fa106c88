#!/usr/bin/env bash
# Installs what otpcpp needs to build and test, from Debian's packages.
# Idempotent and quiet when everything is already there. Needs root (or sudo).
#   scripts/deps.sh          build + test dependencies
#   scripts/deps.sh --bench  also Erlang/OTP, Elixir (Registry, Task) and CAF for bench/compare
set -euo pipefail
pkgs=(build-essential cmake ninja-build libboost-context-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev python3)
[[ "${1:-}" == "--bench" ]] && pkgs+=(erlang-nox elixir libcaf-dev)

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
