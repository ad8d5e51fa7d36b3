#!/usr/bin/env bash
# Runs the peer comparison and prints a markdown report on stdout.
#
# The benchmarks run in ROUNDS rounds (default 6). Each round runs every
# algorithm and library once, so libraries alternate in time and a burst of
# load on a shared machine hits all of them rather than one. The table
# gives, per algorithm and library, the median across rounds and the ratio
# of that median to the median of the floor of the same algorithm in the
# same run.
#
#   integration/peerbench/run.sh > report.md
#
# Environment: ROUNDS (6), BENCHTIME (1s, passed to -benchtime), OUT (a
# directory for the raw outputs; default a new temporary directory).
# Progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")"

rounds=${ROUNDS:-6}
benchtime=${BENCHTIME:-1s}
out=${OUT:-$(mktemp -d -t peerbench.XXXXXX)}
mkdir -p "$out"
benchstat=golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da

# One binary for every round, so rounds differ only in when they ran.
go test -c -o "$out/peerbench.test" .
go build -o "$out/peertable" ./cmd/peertable
GOBIN="$out" go install "$benchstat"

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain -- ../.. 2>/dev/null)" ]; then
	commit="$commit with uncommitted changes"
fi
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for i in $(seq 1 "$rounds"); do
	echo "peerbench: round $i of $rounds" >&2
	"$out/peerbench.test" -test.run '^$' -test.bench . -test.benchmem \
		-test.count 1 -test.benchtime "$benchtime" >"$out/round-$i.txt"
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
cat "$out"/round-*.txt >"$out/results.txt"
echo "peerbench: raw results in $out" >&2

stat=$(cd "$out" && ./benchstat results.txt)

cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
versions=$(go list -m -f '{{.Path}} {{.Version}}' \
	github.com/golang-jwt/jwt/v5 github.com/MicahParks/keyfunc/v3 \
	github.com/go-jose/go-jose/v4 github.com/coreos/go-oidc/v3 \
	github.com/auth0/go-jwt-middleware/v2 github.com/lestrrat-go/jwx/v3 |
	sed 's/^/  - /')

cat <<EOF
## Peer comparison

Verifying one valid access token for the audience \`orders-api\` with a warm
remote JWKS, every library configured to make the same checks (signature,
an allow-list of the one algorithm tested, iss, aud, exp required, nbf) and
to return the scope. The floor is the bare standard-library signature check
of the same token. \`bearerkit\` has its verified-token cache off
(first-seen cost); \`bearerkit-repeated\` has it on and sees the same token
again. How each library is configured: \`integration/peerbench/doc.go\`.

- Date: $(date -u +%Y-%m-%d)
- Machine: ${cpu:-unknown CPU}, $(nproc) CPUs (\`nproc\`), $(go version | cut -d' ' -f3-);
  load average (1, 5, 15 min) $load_start at the start, $load_end at the end
- Code: bearerkit at $commit
- Method: $rounds rounds, each running every benchmark once
  (\`-count 1 -benchtime $benchtime -benchmem\`); medians across rounds;
  × floor = median(library) / median(floor) of the same algorithm in this run;
  spread = the farthest round from the median, as a share of the median.
- Reproduce, from the repository root:
  \`ROUNDS=$rounds BENCHTIME=$benchtime integration/peerbench/run.sh > report.md\`
- Versions:
$versions

$("$out/peertable" "$out/results.txt")

<details><summary>benchstat (medians with 95% confidence intervals)</summary>

\`\`\`
$stat
\`\`\`

</details>
EOF
