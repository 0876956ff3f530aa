#!/usr/bin/env bash
# ID token validation rates beside `openssl speed` and the `jose` npm package, on one core
# (taskset -c ${CPU:-0}), SECONDS per measurement (default 3). All rates are per second of
# CPU time, as openssl speed counts by default. openssl speed and the Rust measurement
# alternate ROUNDS times (default 3) and each side's best round counts, so that noise from
# other processes on a shared machine hits both sides alike.
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
rounds="${ROUNDS:-3}"
speeds=""; ours_all=""; jose_all=""
for ((i = 0; i < rounds; i++)); do
    speeds+="$(speed)"$'\n'
    ours_all+="$(taskset -c "$cpu" target/release/examples/oidc_rates "$seconds")"$'\n'
    jose_all+="$(GATEHOUSE_NPM_DIR=scripts/deps/npm taskset -c "$cpu" node benches/compare/oidc_jose.mjs "$seconds")"$'\n'
done
best() { awk -v k="$2" '$1 == k && $2 > m {m = $2} END {print m}' <<<"$1"; }
rsa="$(best "$speeds" rsa)"; ec="$(best "$speeds" ec)"
ours="$(printf 'rs256 %s\nes256 %s\n' "$(best "$ours_all" rs256)" "$(best "$ours_all" es256)")"
jose="$(printf 'rs256 %s\nes256 %s\n' "$(best "$jose_all" rs256)" "$(best "$jose_all" es256)")"
get() { awk -v k="$2" '$1 == k {print $2}' <<<"$1"; }
printf 'openssl speed verify/s: rsa2048 %s, ecdsap256 %s (best of %s rounds)\n' "$rsa" "$ec" "$rounds"
for alg in rs256 es256; do
    ref="$rsa"; [[ "$alg" == es256 ]] && ref="$ec"
    g="$(get "$ours" "$alg")"; j="$(get "$jose" "$alg")"
    awk -v a="$alg" -v g="$g" -v j="$j" -v r="$ref" 'BEGIN {
        printf "%s: gatehouse %d/s (%.0f%% of openssl speed), jose %d/s (%.0f%%)\n", a, g, 100*g/r, j, 100*j/r }'
done
