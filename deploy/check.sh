#!/usr/bin/env bash
# Checks deploy/ without a container engine or a cluster (scripts/test.sh
# runs it after building the test suite):
#   - the alert rules: promtool check rules, and their unit tests
#     (promtool test rules deploy/prometheus/tests/*.yml);
#   - prometheus.yml: promtool check config (the Kubernetes variant only
#     parses: Debian's promtool has no Kubernetes service discovery);
#   - deploy/check.py: the image's runtime packages against the binaries'
#     ldd, docker-compose.yml, the Kubernetes manifests, and the metric
#     names in the rules and the dashboard against the code.
#
#   deploy/check.sh [BUILD_DIR]    (default build/test: a build with the
#                                   five binaries)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build/test}
status=0

promtool check rules deploy/prometheus/rules/*.rules.yml || status=1
promtool test rules deploy/prometheus/tests/*.yml || status=1
# check config reads the rule files where Prometheus would (/etc/prometheus):
# a copy with the repository's paths.
config=$(mktemp --suffix=.yml)
trap 'rm -f "$config"' EXIT
sed "s|/etc/prometheus/rules/|$PWD/deploy/prometheus/rules/|" \
  deploy/prometheus/prometheus.yml >"$config"
promtool check config "$config" || status=1

# Debian's Python, which has the python3-yaml that scripts/install-deps.sh
# installs (a python3 earlier on PATH, e.g. pyenv's, may lack it).
python=/usr/bin/python3

echo "deploy/check.py $build_dir"
"$python" deploy/check.py "$build_dir" || status=1

# The package check can fail: the runtime stage without jemalloc (which the
# hub links; the first Dockerfile's image would not have started) and with
# a package nothing loads must be refused.
broken=$(mktemp)
trap 'rm -f "$config" "$broken"' EXIT
sed 's/ libjemalloc2 / libcurl4 /' deploy/Dockerfile >"$broken"
if ! grep -q libcurl4 "$broken"; then
  echo "FAIL: deploy/check.sh could not break a copy of deploy/Dockerfile"
  status=1
elif output=$("$python" deploy/check.py "$build_dir" --only-image \
    --dockerfile "$broken" 2>&1) ||
    ! grep -q "lacks libjemalloc2" <<<"$output" ||
    ! grep -q "installs libcurl4" <<<"$output"; then
  echo "FAIL: deploy/check.py did not refuse a runtime stage without"
  echo "libjemalloc2 and with libcurl4:"
  echo "$output"
  status=1
else
  echo "  image check refuses a runtime stage without libjemalloc2: ok"
fi
exit $status
