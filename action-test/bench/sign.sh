#!/usr/bin/env bash
# Benchmark: secure-gates `sign` + `attest` (3 predicates, one process) against the
# cosign v2.6.5 CLI doing the same (1 sign + 3 attest processes), key-based, no
# transparency log, on a loopback docker-registry. Prints wall times and the ratio.
# Target: secure-gates <= 0.5x cosign. Not run by CI.
#   action-test/bench/sign.sh [rounds]   (default 5)
set -euo pipefail
ROUNDS=${1:-5}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOOLS=${SECURE_GATES_TOOLS:-$ROOT/.tools}
W=$(mktemp -d)
REG_PID=""
cleanup() { [[ -n $REG_PID ]] && kill "$REG_PID" 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT

tool() { # name package version -> path (built once into the shared tool cache)
  local d="$TOOLS/$1@$3"
  if [[ ! -x $d/$1 ]]; then mkdir -p "$d"; (cd "$d" && GOBIN=$d GOFLAGS= CGO_ENABLED=0 go install "$2@$3"); fi
  echo "$d/$1"
}
COSIGN=$(tool cosign github.com/sigstore/cosign/v2/cmd/cosign v2.6.5)
CRANE=$(tool crane github.com/google/go-containerregistry/cmd/crane v0.22.1)
# Built as the action image builds it (Dockerfile): static, trimmed, stripped;
# cosign is static too (CGO_ENABLED=0 above).
(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$W/secure-gates" .)
SG=$W/secure-gates

# Loopback registry.
mkdir -p "$W/reg"
printf 'version: 0.1\nlog: {level: info, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: %s/reg}, delete: {enabled: true}}\nhttp: {addr: 127.0.0.1:0, secret: bench}\n' "$W" > "$W/reg.yml"
/usr/bin/docker-registry serve "$W/reg.yml" > "$W/reg.log" 2>&1 & REG_PID=$!
for _ in $(seq 1 100); do HOST=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$W/reg.log" | head -1 | cut -d' ' -f3 || true); [[ -n $HOST ]] && break; sleep 0.1; done
[[ -n ${HOST:-} ]] || { echo "registry did not start"; cat "$W/reg.log"; exit 1; }

export HOME=$W TUF_ROOT=$W/tuf COSIGN_PASSWORD=
(cd "$W" && "$COSIGN" generate-key-pair >/dev/null 2>&1)
P=$ROOT/pkg/attestation/testdata/predicates
cp "$P/cyclonedx.json" "$P/vuln.json" "$P/spdx.json" "$W/"

image() { # a fresh image per run: nothing cached, nothing appended to
  head -c 4096 /dev/urandom > "$W/blob"; tar -C "$W" -czf "$W/layer.tgz" blob
  "$CRANE" append --oci-empty-base -f "$W/layer.tgz" -t "$HOST/bench/app:$1" >/dev/null 2>&1
  echo "$HOST/bench/app@$("$CRANE" digest "$HOST/bench/app:$1")"
}

run_sg() { # $1 image, $2 format
  (cd "$W" && "$SG" sign --key cosign.key --tlog-upload=false --signature-format "$2" "$1" >/dev/null &&
   "$SG" attest --key cosign.key --tlog-upload=false --signature-format "$2" \
     --predicates "$(printf 'cyclonedx=cyclonedx.json\nvuln=vuln.json\nspdx=spdx.json')" "$1" >/dev/null)
}
run_cosign() { # $1 image
  (cd "$W" && "$COSIGN" sign --yes --key cosign.key --tlog-upload=false "$1" >/dev/null 2>&1 &&
   "$COSIGN" attest --yes --key cosign.key --tlog-upload=false --type cyclonedx --predicate cyclonedx.json "$1" >/dev/null 2>&1 &&
   "$COSIGN" attest --yes --key cosign.key --tlog-upload=false --type vuln --predicate vuln.json "$1" >/dev/null 2>&1 &&
   "$COSIGN" attest --yes --key cosign.key --tlog-upload=false --type https://spdx.dev/Document --predicate spdx.json "$1" >/dev/null 2>&1)
}

# Warm up both (page cache, registry).
run_sg "$(image warm1)" legacy; run_cosign "$(image warm2)"
TIMEFORMAT='%R %U %S'
: > "$W/t_sg"; : > "$W/t_sgb"; : > "$W/t_co"
for i in $(seq 1 "$ROUNDS"); do
  img=$(image "sg$i");  { time run_sg "$img" legacy; } 2>> "$W/t_sg"
  img=$(image "sgb$i"); { time run_sg "$img" both; } 2>> "$W/t_sgb"
  img=$(image "co$i");  { time run_cosign "$img"; } 2>> "$W/t_co"
done
# wall and CPU (user+sys of the processes) per round; on a shared, loaded machine
# CPU time is the steadier figure.
stat() { awk -v n="$ROUNDS" '{w+=$1; c+=$2+$3} END {printf "%.3f %.3f", w/n, c/n}' "$1"; }
read -r sg_w sg_c <<< "$(stat "$W/t_sg")"; read -r sgb_w sgb_c <<< "$(stat "$W/t_sgb")"; read -r co_w co_c <<< "$(stat "$W/t_co")"
printf 'rounds: %d (each: sign + attest of 3 predicates on a fresh image); load average: %s\n' "$ROUNDS" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %8s %8s\n' "" "wall s" "CPU s"
printf '%-44s %8s %8s\n' "secure-gates, legacy format (2 processes)" "$sg_w" "$sg_c"
printf '%-44s %8s %8s\n' "secure-gates, both formats (2 processes)" "$sgb_w" "$sgb_c"
printf '%-44s %8s %8s\n' "cosign CLI, legacy format (4 processes)" "$co_w" "$co_c"
printf 'ratio secure-gates/cosign, legacy: wall %.2f, CPU %.2f  (target <= 0.50)\n' "$(echo "$sg_w / $co_w" | bc -l)" "$(echo "$sg_c / $co_c" | bc -l)"
printf 'ratio secure-gates/cosign, both:   wall %.2f, CPU %.2f\n' "$(echo "$sgb_w / $co_w" | bc -l)" "$(echo "$sgb_c / $co_c" | bc -l)"
