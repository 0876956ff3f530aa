#!/usr/bin/env bash
# ID token validation rates beside `openssl speed` and the `jose` npm package, on one core
# (taskset -c ${CPU:-0}), SECONDS per measurement (default 3). openssl speed runs before and
# after the Rust measurement, and the best of the two is the reference, to bracket noise.
# Targets: RS256 >= 85% of `openssl speed rsa2048` verify/s, ES256 >= 90% of ecdsap256.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
seconds="${1:-3}"
cpu="${CPU:-0}"
cargo build -q --release -p gatehouse-benches --example oidc_rates
speed() {
    taskset -c "$cpu" openssl speed -seconds "$seconds" rsa2048 ecdsap256 2>/dev/null |
        awk '/^rsa 2048 bits/ {print "rsa", $NF} /nistp256/ {print "ec", $NF}'
}
s1="$(speed)"
ours="$(taskset -c "$cpu" target/release/examples/oidc_rates "$seconds")"
s2="$(speed)"
jose="$(GATEHOUSE_NPM_DIR=scripts/deps/npm taskset -c "$cpu" node benches/compare/oidc_jose.mjs "$seconds")"
best() { printf '%s\n%s\n' "$s1" "$s2" | awk -v k="$1" '$1 == k && $2 > m {m = $2} END {print m}'; }
get() { awk -v k="$2" '$1 == k {print $2}' <<<"$1"; }
rsa="$(best rsa)"; ec="$(best ec)"
printf 'openssl speed verify/s: rsa2048 %s, ecdsap256 %s (best of before and after)\n' "$rsa" "$ec"
for alg in rs256 es256; do
    ref="$rsa"; [[ "$alg" == es256 ]] && ref="$ec"
    g="$(get "$ours" "$alg")"; j="$(get "$jose" "$alg")"
    awk -v a="$alg" -v g="$g" -v j="$j" -v r="$ref" 'BEGIN {
        printf "%s: gatehouse %d/s (%.0f%% of openssl speed), jose %d/s (%.0f%%)\n", a, g, 100*g/r, j, 100*j/r }'
done
