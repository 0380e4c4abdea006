# Sourced by the timing scripts, from the repository root: makes $work, a temporary folder
# removed when the script exits; sets $bin to the propensity binary to time: $BIN when given
# (build it beforehand, outside any measurement), else one built here into $work; and
# defines median, the median of the numbers on standard input, one a line.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin=${BIN:-}
if [[ -z $bin ]]; then
	go build -o "$work/propensity" ./cmd/propensity
	bin=$work/propensity
fi

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
