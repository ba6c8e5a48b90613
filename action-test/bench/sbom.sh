#!/usr/bin/env bash
# Times `secure-gates sbom` (CycloneDX + SPDX + image vulnerability scan, one
# process) against what a user would run instead: the syft CLI writing both
# formats in one run (-o cyclonedx-json=… -o spdx-json=…) plus the grype CLI on
# that SBOM — the versions go.mod pins, same image in a loopback registry, same DB.
#
#   action-test/bench/sbom.sh
#   SYNTHETIC=0 action-test/bench/sbom.sh          # quick run, tiny DB
#
# SYNTHETIC  never-matching advisories padded into the DB (default 300000: a real
#            DB's size, so every lookup compares rows), plus three per component of
#            the image's SBOM. The DB is built once and cached in the tools folder.
# RUNS       timed runs of each side; the best is reported (default 2)
# WORK       scratch folder (default: a new temp dir)
#
# The image (built without Docker): the host's Debian dpkg database and
# os-release, syft v1.54.1's source tree (thousands of files, fixtures of every
# ecosystem) and three Go binaries with hundreds of modules each (secure-gates,
# cosign, crane). Prints each wall time and the ratio sbom / (syft + grype).
# Target: <= 0.6. Not run by CI.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-$(mktemp -d -t sg-bench-sbom-XXXXXX)}
SYNTHETIC=${SYNTHETIC:-300000}
RUNS=${RUNS:-2}
TOOLS=${SECURE_GATES_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/secure-gates/tools}
SYFT_V=v1.54.1 GRYPE_V=v0.120.1 CRANE_V=v0.22.1 COSIGN_V=v2.6.5
mkdir -p "$WORK" "$TOOLS"
echo "work dir: $WORK"

REG_PID=""
cleanup() { [[ -n "$REG_PID" ]] && kill "$REG_PID" 2>/dev/null || true; }
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
best() { printf '%s\n' "$@" | sort -n | head -1; }

# tool NAME PACKAGE VERSION: go install into the tools cache once; fall back to
# building the package inside this module (same pinned version from go.mod).
tool() {
  local name=$1 pkg=$2 version=$3 dir="$TOOLS/$1@$3"
  if [[ ! -x "$dir/$name" ]]; then
    echo "building $name $version ..." >&2
    mkdir -p "$dir"
    if ! GOBIN="$dir" GOFLAGS=-mod=mod CGO_ENABLED=0 go install "$pkg@$version" >"$dir/build.log" 2>&1; then
      (cd "$ROOT" && CGO_ENABLED=0 go build -o "$dir/$name" "$pkg") >>"$dir/build.log" 2>&1 ||
        { echo "building $name failed, see $dir/build.log" >&2; exit 1; }
    fi
  fi
  echo "$dir/$name"
}

command -v docker-registry >/dev/null || { echo "needs Debian's docker-registry: apt-get install -y docker-registry" >&2; exit 1; }
SG="$WORK/secure-gates"
(cd "$ROOT" && go build -o "$SG" .)
SYFT=$(tool syft github.com/anchore/syft/cmd/syft $SYFT_V)
GRYPE=$(tool grype github.com/anchore/grype/cmd/grype $GRYPE_V)
CRANE=$(tool crane github.com/google/go-containerregistry/cmd/crane $CRANE_V)
COSIGN=$(tool cosign github.com/sigstore/cosign/v2/cmd/cosign $COSIGN_V)

# The registry.
mkdir -p "$WORK/reg"
cat >"$WORK/reg/config.yml" <<EOF
version: 0.1
log: {level: info, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $WORK/reg/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:0, secret: bench-only}
EOF
docker-registry serve "$WORK/reg/config.yml" >"$WORK/reg/log" 2>&1 &
REG_PID=$!
for _ in $(seq 100); do
  HOST=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$WORK/reg/log" | head -1 | sed 's/listening on //') || true
  [[ -n "$HOST" ]] && break
  sleep 0.1
done
[[ -n "$HOST" ]] || { echo "the registry did not start:"; cat "$WORK/reg/log"; exit 1; }

# The image.
RFS="$WORK/rootfs"
SYFT_SRC=$(cd "$ROOT" && go mod download -json github.com/anchore/syft@$SYFT_V | awk -F'"' '/"Dir"/ {print $4}')
mkdir -p "$RFS/etc" "$RFS/var/lib/dpkg" "$RFS/usr/local/bin" "$RFS/src"
cp /etc/os-release "$RFS/etc/os-release"
[[ -f /etc/debian_version ]] && cp /etc/debian_version "$RFS/etc/"
cp /var/lib/dpkg/status "$RFS/var/lib/dpkg/status"
cp "$SG" "$COSIGN" "$CRANE" "$RFS/usr/local/bin/"
cp -r "$SYFT_SRC" "$RFS/src/syft" && chmod -R u+w "$RFS"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2024-01-01 00:00:00Z' -C "$RFS" -czf "$WORK/layer.tar.gz" .
"$CRANE" append --oci-empty-base -f "$WORK/layer.tar.gz" -t "$HOST/bench/app:tmp" >/dev/null 2>&1
"$CRANE" mutate "$HOST/bench/app:tmp" --set-platform linux/amd64 -t "$HOST/bench/app:v1" >/dev/null 2>&1
IMG="$HOST/bench/app:v1"
echo "image: $IMG@$("$CRANE" digest "$IMG") ($(find "$RFS" -type f | wc -l) files, $(du -sh "$WORK/layer.tar.gz" | cut -f1) compressed)"

export SYFT_CHECK_FOR_APP_UPDATE=false
# The DB: real advisories plus synthetic ones, three per component of the image.
DBGEN_KEY=$(sha256sum "$ROOT/action-test/bench/dbgen/main.go" | cut -c1-12)
DB="$TOOLS/bench-db-sbom@$DBGEN_KEY-$SYNTHETIC"
if [[ ! -f "$DB/6/vulnerability.db" ]]; then
  "$SYFT" "registry:$IMG" -q -o "cyclonedx-json=$WORK/names.cdx.json" >/dev/null
  (cd "$ROOT" && go build -o "$WORK/dbgen" ./action-test/bench/dbgen)
  rm -rf "$DB.tmp"
  t0=$(now); "$WORK/dbgen" -root "$DB.tmp" -synthetic "$SYNTHETIC" -names "$WORK/names.cdx.json"; t1=$(now)
  mv "$DB.tmp" "$DB"
  echo "DB: $SYNTHETIC synthetic advisories + 3 per component, built in $(elapsed "$t0" "$t1") s"
fi
echo "DB: $DB ($(du -sh "$DB" | cut -f1))"
export GRYPE_DB_CACHE_DIR="$DB" GRYPE_DB_AUTO_UPDATE=false GRYPE_DB_VALIDATE_AGE=false GRYPE_CHECK_FOR_APP_UPDATE=false

SYS=() GRS=() SGS=()
for i in $(seq "$RUNS"); do
  rm -rf "$WORK/theirs" "$WORK/ours" && mkdir -p "$WORK/theirs"
  t0=$(now)
  "$SYFT" "registry:$IMG" -q -o "cyclonedx-json=$WORK/theirs/sbom.cdx.json" -o "spdx-json=$WORK/theirs/sbom.spdx.json" >/dev/null
  t1=$(now)
  "$GRYPE" "sbom:$WORK/theirs/sbom.cdx.json" -q -o json --file "$WORK/theirs/grype.json" >/dev/null || true
  t2=$(now)
  SYS+=("$(elapsed "$t0" "$t1")") GRS+=("$(elapsed "$t1" "$t2")")
  t0=$(now)
  (cd "$WORK" && "$SG" sbom --image "$IMG" --db-dir "$DB" --max-db-age 87600h --output-dir "$WORK/ours" \
    --upload-sarif=false --severity-cutoff critical >"$WORK/ours.log" 2>&1) || true
  t1=$(now)
  SGS+=("$(elapsed "$t0" "$t1")")
  [[ -s "$WORK/ours/sbom.cdx.json" && -s "$WORK/ours/vuln-predicate.json" ]] || { echo "secure-gates sbom failed:"; tail -20 "$WORK/ours.log"; exit 1; }
done
SY=$(best "${SYS[@]}") GR=$(best "${GRS[@]}") SGT=$(best "${SGS[@]}")
THEIRS=$(awk -v a="$SY" -v b="$GR" 'BEGIN { printf "%.2f", a + b }')
echo "packages: syft $(jq '.components | length' "$WORK/theirs/sbom.cdx.json") components, secure-gates $(jq '.components | length' "$WORK/ours/sbom.cdx.json")"
echo "matches:  grype $(jq '.matches | length' "$WORK/theirs/grype.json"), secure-gates $(jq '.scanner.result.matches | length' "$WORK/ours/vuln-predicate.json")"
echo "syft (2 formats)        ${SY} s   (runs: ${SYS[*]})"
echo "grype (sbom:)           ${GR} s   (runs: ${GRS[*]})"
echo "syft + grype            ${THEIRS} s"
echo "secure-gates sbom       ${SGT} s   (runs: ${SGS[*]})"
awk -v a="$SGT" -v b="$THEIRS" 'BEGIN { printf "ratio sbom / (syft + grype) = %.2f (target <= 0.60)\n", a / b }'
