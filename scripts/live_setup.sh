# Sourced by bench_live.sh and bench_ingest.sh (not run on its own): the work directory, the
# binaries, the generated history and small models the live benchmarks use.
# Before sourcing, set n (contacts) and work (a directory to keep, or empty for a temporary
# one, removed on exit). Sets work, keep, root, bin (propensity), hist, and $work/liveload and
# $work/models; HISTORY (environment) names an existing history to use instead of generating.
# Also defines stop (kills $pid, the server) and the exit trap.
keep=1
if [[ -z "$work" ]]; then
	work=$(mktemp -d)
	keep=0
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$work"
bin=$work/propensity
(cd "$root" && CGO_ENABLED=0 go build -o "$bin" ./cmd/propensity && go build -o "$work/liveload" ./scripts/liveload)
hist=${HISTORY:-$work/history}
if [[ -z "${HISTORY:-}" && ! -d "$hist" ]]; then
	"$bin" generate --out "$hist" --contacts "$n" --seed 5 >/dev/null 2>&1
fi
# Models trained on a small history of the same generator: their cost per score is what
# matters here, not their quality.
if [[ ! -d "$work/models" ]]; then
	"$bin" generate --out "$work/small" --contacts 5000 --seed 3 >/dev/null 2>&1
	"$bin" train conversion --data "$work/small" --as-of 2026-01-01 --out "$work/models" >/dev/null 2>&1
	"$bin" train churn --data "$work/small" --as-of 2026-01-01 --out "$work/models" >/dev/null 2>&1
	"$bin" ltv --transactions "$work/small/transactions.parquet" --calibration-end 2025-10-01 \
		--holdout-end 2026-01-01 --out "$work/models" >/dev/null 2>&1
	"$bin" personas --data "$work/small" --as-of 2026-01-01 --out "$work/models" >/dev/null 2>&1
fi
pid=
stop() { [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; pid=; }
trap 'stop; [[ $keep == 1 ]] || rm -rf "$work"' EXIT
