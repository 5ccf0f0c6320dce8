#!/usr/bin/env bash
# Installs the Debian packages omnihub needs to build, run and test, skipping
# what is already there. Safe to run again.
set -euo pipefail

packages=(
  g++ cmake make pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libhiredis-dev prometheus-cpp-dev libphonenumber-dev
  nlohmann-json3-dev libcpp-httplib-dev libcsv-dev libssl-dev zlib1g-dev
  tzdata            # --cdr_time_zone and --visit_time_zone, and their tests
  libjemalloc-dev   # the services' allocator (see CMakeLists.txt)
  libnlopt-cxx-dev libboost-dev   # the purchase models' optimiser, Boost.Math
  libgtest-dev libgmock-dev
  redis-server   # the store, and the tests' real Redis
  prometheus     # promtool: checks our /metrics output, and deploy/check.sh
                 # checks and unit-tests the alert rules with it
  python3-yaml   # deploy/check.py reads the compose and Kubernetes files
  clang-format   # the test script checks formatting
  clang libclang-rt-dev   # scripts/fuzz.sh: libFuzzer targets
  curl           # scripts/chaos.sh reads the adapters' metrics
  openssl        # scripts/run.sh makes development certificates and tokens
  e2fsprogs      # tests: a tiny ext2 on a loop device for the failing-disk test
  nodejs         # runs the web snippet against the real web adapter in tests
  wrk            # scripts/bench.sh: HTTP load on the web adapter
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null |
      grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# Only promtool is used from the prometheus package; where an init system
# runs, it also starts a Prometheus server, which omnihub does not need.
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
