# Sourced by the timing scripts, from the repository root: makes $work, a temporary folder
# removed when the script exits, and sets $bin to the propensity binary to time: $BIN when
# given (build it beforehand, outside any measurement), else one built here into $work.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin=${BIN:-}
if [[ -z $bin ]]; then
	go build -o "$work/propensity" ./cmd/propensity
	bin=$work/propensity
fi
