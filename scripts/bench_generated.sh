#!/usr/bin/env bash
# Conversion models on generated histories against the generator's own truth: for each seed,
# generate CONTACTS contacts, train conversion models (logistic, gbt) on the snapshots before
# T and report their test AUC on the snapshot at T next to the AUC of the generator's true
# probabilities for the same prospects (the best any model can do); then run `evaluate`
# (rules versus model, suggested scorecard) on the last seed.
#
#   scripts/bench_generated.sh                 # seeds 1 2 7, 50,000 contacts
#   SEEDS="1" CONTACTS=20000 MODELS="logistic" scripts/bench_generated.sh
#
# Prints one line per seed and model: seed, model, test AUC, true AUC, gap, ECE.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SEEDS=${SEEDS:-"1 2 7"}
CONTACTS=${CONTACTS:-50000}
MODELS=${MODELS:-"logistic gbt"}
AS_OF=${AS_OF:-2026-01-01}
EVALUATE=${EVALUATE:-1}
WORK=$(mktemp -d /tmp/bench_generated.XXXXXX)
trap '[ "${KEEP:-0}" = 1 ] && echo "kept $WORK" >&2 || rm -rf "$WORK"' EXIT

P="$WORK/propensity"
(cd "$ROOT" && go build -o "$P" ./cmd/propensity)
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {'d': d}))" "$@"; }

printf '%-5s %-9s %8s %8s %7s %7s\n' seed model test_auc true_auc gap ece
last=""
for s in $SEEDS; do
	H="$WORK/h$s"
	"$P" generate --out "$H" --contacts "$CONTACTS" --seed "$s" --as-of "$AS_OF" --json >"$WORK/gen$s.json" 2>"$WORK/gen$s.log"
	truth=$(json "$WORK/gen$s.json" 'd["conversion_auc"]')
	for m in $MODELS; do
		"$P" train conversion --data "$H" --as-of "$AS_OF" --model "$m" --out "$WORK/m$s$m" --json >"$WORK/train$s$m.json" 2>"$WORK/train$s$m.log" ||
			{ echo "train $m seed $s failed: $(tail -1 "$WORK/train$s$m.log")" >&2; continue; }
		auc=$(json "$WORK/train$s$m.json" 'd["auc"]')
		ece=$(json "$WORK/train$s$m.json" 'd["ece"]')
		python3 -c "import sys; a,t,e=map(float,sys.argv[3:6]); print('%-5s %-9s %8.4f %8.4f %7.4f %7.4f' % (sys.argv[1], sys.argv[2], a, t, t-a, e))" "$s" "$m" "$auc" "$truth" "$ece"
	done
	last=$s
done
if [ "$EVALUATE" = 1 ] && [ -n "$last" ]; then
	"$P" evaluate --data "$WORK/h$last" --as-of "$AS_OF" --horizon 90d --scorecard "$ROOT/data/scorecards/dealership.yaml" --out "$WORK/eval" --json >"$WORK/eval.json" 2>"$WORK/eval.log"
	echo "evaluate (seed $last): $(json "$WORK/eval.json" '"rules AUC %.3f, model AUC %.3f, suggested scorecard AUC %.3f" % (d["rules"]["auc"], d["model"]["auc"], d["suggested"]["auc"])'), true-probability AUC $(json "$WORK/gen$last.json" '"%.3f" % d["conversion_auc"]')"
fi
