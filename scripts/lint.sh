#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Static analysis of src/, client/ and include/: clang-tidy-14 (checks in .clang-tidy,
# every finding an error) and cppcheck; a licence header in every source
# file. Fails on any finding.
#   scripts/lint.sh            # both
#   scripts/lint.sh tidy       # only clang-tidy (or: cppcheck, licence)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
jobs=${LINT_JOBS:-2}
status=0

if [ "$what" = all ] || [ "$what" = cppcheck ]; then
  echo "=== cppcheck ($(date -u +%H:%M:%S))"
  # Suppressed, with the reason:
  #  missingIncludeSystem: Boost, CLI11, fmt, OpenSSL are not analysed (only our code is).
  #  missingReturn: cppcheck 2.10 does not know that co_return ends a coroutine;
  #    g++'s -Wreturn-type (-Wall -Werror) already guards real functions.
  #  accessMoved in connection.hpp: an awaitable is moved on one branch that co_returns,
  #    and moved again on the other; cppcheck does not see that co_return leaves.
  #  unknownMacro: Asio's BOOST_ASIO_* macros, unexpanded without the headers.
  cppcheck --enable=warning,performance,portability --error-exitcode=1 --std=c++20 --inline-suppr --quiet \
    -j "$jobs" -I include -I src -D__cplusplus=202002L \
    --suppress=missingIncludeSystem --suppress=missingReturn --suppress=unknownMacro \
    --suppress=accessMoved:src/protocols/connection.hpp \
    src include client || status=1
fi

if [ "$what" = all ] || [ "$what" = tidy ]; then
  echo "=== clang-tidy-14 ($(date -u +%H:%M:%S))"
  # Its own configure (no build needed): the compile commands of every target in src/.
  cmake -S . -B build/lint -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
    -DHASHSRV_BUILD_TESTS=OFF >/dev/null
  # -extra-arg: g++'s coroutine flag means nothing to clang; silence unknown warnings flags.
  run-clang-tidy-14 -p build/lint -j "$jobs" -quiet -extra-arg=-Wno-unknown-warning-option \
    "$PWD/(src|client)/.*\.cpp\$" >build/lint/clang-tidy.log 2>&1 || status=1
  # Show the findings (not the progress lines); fail on any.
  sed -i 's/\x1b\[[0-9;]*m//g' build/lint/clang-tidy.log
  grep -E '(warning|error):' build/lint/clang-tidy.log | sort -u || true
  if grep -qE '(warning|error):' build/lint/clang-tidy.log; then status=1; fi
fi

if [ "$what" = all ] || [ "$what" = licence ]; then
  echo "=== licence headers ($(date -u +%H:%M:%S))"
  # Every source, script and build file names its licence (SPDX BSL-1.0, the
  # text in LICENSE); licensecheck reads the header as Debian's tools do.
  mapfile -t sources < <(git ls-files --cached --others --exclude-standard \
    '*.cpp' '*.hpp' '*.sh' '*.py' '*.gp' 'CMakeLists.txt' '*/CMakeLists.txt' 'bench/run' 'bench/compare' '.ci/run' 'docker/Dockerfile' \
    '*.yaml' '*.cfg')
  unlicensed=$(licensecheck --machine "${sources[@]}" | awk -F'\t' '$2 != "Boost Software License 1.0" {print $1}')
  if [ -n "$unlicensed" ]; then
    echo "no SPDX-License-Identifier: BSL-1.0 header in:"; echo "$unlicensed"
    status=1
  fi
fi

[ $status -eq 0 ] && echo "lint: clean" || echo "lint: findings above" >&2
exit $status
