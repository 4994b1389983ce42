#!/usr/bin/env bash
# Prints the plain closing line "N passed, N failed, N skipped" from swift test's xUnit report
# (swift test --parallel prints no summary of its own).
set -euo pipefail
report=${1:?usage: summary.sh XUNIT.xml}
[ -f "$report" ] || { echo "summary: no test report at $report" >&2; exit 1; }
attr() { grep -o "<testsuite [^>]*" "$report" | head -1 | grep -o "$1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
tests=$(attr tests); failures=$(attr failures); errors=$(attr errors); skipped=$(attr skipped)
failed=$((failures + errors))
echo "$((tests - failed - skipped)) passed, $failed failed, $skipped skipped"
