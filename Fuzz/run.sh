#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS (make fuzz / make fuzz-smoke), starting from the
# committed seed corpus in Fuzz/Corpus/<target>; new inputs go to .build-fuzz/corpus/<target>
# (not committed), crash reproducers to .build-fuzz/artifacts/. Prints the executions per
# target; exits non-zero when any target crashed (or leaked, or timed out on one input).
#   usage: Fuzz/run.sh SECONDS TARGET...
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=$1; shift
bin=.build-fuzz/release
mkdir -p .build-fuzz/artifacts .build-fuzz/logs
failed=()
summary=()
for t in "$@"; do
    mkdir -p ".build-fuzz/corpus/$t"
    log=".build-fuzz/logs/$t.log"
    # -timeout: one input taking longer is a bug too (a hang); -rss_limit_mb: so is memory.
    "$bin/$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix=".build-fuzz/artifacts/$t-" ".build-fuzz/corpus/$t" "Fuzz/Corpus/$t" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(grep -oE 'exec/s: [0-9]+' "$log" | tail -1 | awk '{print $2}')
    if [ $rc -ne 0 ]; then
        failed+=("$t")
        summary+=("$(printf '%-20s FAILED (exit %d) after %s executions; see %s' "$t" "$rc" "${execs:-?}" "$log")")
        grep -E 'ERROR:|Fatal error|SUMMARY|Test unit written|==[0-9]+==' "$log" | head -8 >&2
    else
        summary+=("$(printf '%-20s %12s executions in %ss (%s exec/s), 0 crashes' "$t" "${execs:-?}" "$seconds" "${rate:-?}")")
    fi
done
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzz: crash in ${failed[*]} (reproducers in .build-fuzz/artifacts/)" >&2
    exit 1
fi
