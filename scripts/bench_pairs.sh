#!/usr/bin/env bash
# Same-run pairs of one storm scenario, in-process: an old checkout against this one, alternating,
# as docs/benchmarks.md ("No slower than the fast paths") measures "no slower than today".
#   git worktree add --detach /tmp/old-storm 67807b6
#   OLD=/tmp/old-storm SCEN=grab-storm scripts/bench_pairs.sh sqlite none 3
#   OLD=/tmp/old-storm scripts/bench_pairs.sh postgresql redis://127.0.0.1:6379/8 3
# The second argument is the gates' Redis URL for this checkout, or `none` for gates in process
# memory (KINSAVE_REDIS_URL then points nowhere, on both sides).
set -uo pipefail
db=$1 redis_url=$2 pairs=$3
old=${OLD:?set OLD to the old checkout}
new=$(cd "$(dirname "$0")/.." && pwd)
scenario=${SCEN:-grab-storm}
scale=${SCALE:-0.05}
python=${PYTHON:-$new/.venv/bin/python}
for pair in $(seq 1 "$pairs"); do
    for side in old new; do
        dir=$old extra=()
        [ "$side" = new ] && dir=$new
        env_url=redis://127.0.0.1:1/0
        if [ "$redis_url" != none ]; then
            env_url=$redis_url
            [ "$side" = new ] && extra=(--redis-url "$redis_url")
        fi
        out=$(cd "$dir" && COLUMNS=250 PYTHONPATH="$dir/src:$dir/examples/store" \
            KINSAVE_REDIS_URL="$env_url" "$python" -m kinsave.cli bench run --scale "$scale" \
            --database-url "$db" --mode in-process --scenario "$scenario" --variant kinsave \
            "${extra[@]}" 2>&1)
        row=$(echo "$out" | grep -E "│ (sqlite|postgresql) +│ $scenario" | head -1)
        echo "$(date +%H:%M:%S) pair $pair $side: $row $(echo "$out" | grep 'results:')"
    done
done
