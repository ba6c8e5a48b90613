# shellcheck shell=bash
# Shared by scan.sh and sbom.sh (source it; not run by CI): the pinned CLIs, the
# loopback registry, the benchmark tree and image, the benchmark DB (built once
# into the tools cache and reused by both scripts), and timing (wall and CPU).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOLS=${SECURE_GATES_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/secure-gates/tools}
SYNTHETIC=${SYNTHETIC:-300000}
RUNS=${RUNS:-3}
GITLEAKS_V=v8.30.1 SYFT_V=v1.54.1 GRYPE_V=v0.120.1 CRANE_V=v0.22.1 COSIGN_V=v2.6.5
mkdir -p "$WORK" "$TOOLS"

# Every CLI runs offline, without update checks, against the one DB.
export SYFT_CHECK_FOR_APP_UPDATE=false GRYPE_CHECK_FOR_APP_UPDATE=false
export GRYPE_DB_AUTO_UPDATE=false GRYPE_DB_VALIDATE_AGE=false

REG_PID=""
bench_cleanup() {
  if [[ -n "$REG_PID" ]]; then kill "$REG_PID" 2>/dev/null || true; fi
  REG_PID=""
}
trap bench_cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# tool NAME PACKAGE VERSION: the binary, built once with `go install PACKAGE@VERSION`
# (the tool's own go.mod, as its release is built) into <tools>/<name>@<version>/,
# where internal/testinfra builds its tools too; falls back to building the package
# inside this module (the same pinned version, from go.mod).
tool() {
  local name=$1 pkg=$2 version=$3 dir="$TOOLS/$1@$3"
  if [[ ! -x "$dir/$name" ]]; then
    echo "building $name $version ..." >&2
    mkdir -p "$dir"
    if ! (cd "$dir" && GOBIN="$dir" GOFLAGS=-mod=mod CGO_ENABLED=0 go install "$pkg@$version") >"$dir/build.log" 2>&1; then
      (cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -o "$dir/$name" "$pkg") >>"$dir/build.log" 2>&1 ||
        { echo "building $name failed, see $dir/build.log" >&2; exit 1; }
    fi
  fi
  echo "$dir/$name"
}

# build_sg: secure-gates built the way the action image builds it (static, no cgo,
# trimmed paths, stripped); SG_BIN names a binary built beforehand instead.
build_sg() {
  if [[ -n "${SG_BIN:-}" ]]; then
    SG=$SG_BIN
    return
  fi
  SG="$WORK/secure-gates"
  (cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$SG" .)
}

syft_src() { (cd "$ROOT" && go mod download -json "github.com/anchore/syft@$SYFT_V" | awk -F'"' '/"Dir"/ {print $4}'); }

# make_tree DIR: the scan tree — syft's source (thousands of files, fixtures and
# lockfiles of every ecosystem) plus this repository's files.
make_tree() {
  local tree=$1
  [[ -d "$tree/syft" ]] && return
  mkdir -p "$tree/secure-gates"
  cp -r "$(syft_src)" "$tree/syft" && chmod -R u+w "$tree"
  (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
    tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -C "$tree/secure-gates" -xf -
}

# mod_src MODULE VERSION: a module's source directory in the module cache.
mod_src() { (cd "$ROOT" && go mod download -json "$1@$2" | awk -F'"' '/"Dir"/ {print $4}'); }

# make_tree_kind KIND DIR: the secrets benchmark trees of issue 20.
#   prometheus  a prometheus-sized Go tree (prometheus itself is not downloadable
#               offline): the sources of k8s.io/client-go and k8s.io/apimachinery
#               v0.37.2, 3,100 files, 23 MB
#   x10         ten times that, generated: the sources of client-go, api,
#               apimachinery, syft, grype and cosign (those go.mod pins), copied
#               round-robin under numbered folders until the tree reaches 240 MB
# Each gets the same planted secrets (planted/), so both sides find something.
make_tree_kind() {
  local kind=$1 tree=$2
  [[ -d "$tree/planted" ]] && return
  mkdir -p "$tree"
  case $kind in
    prometheus)
      cp -r "$(mod_src k8s.io/client-go v0.37.2)" "$tree/client-go"
      cp -r "$(mod_src k8s.io/apimachinery v0.37.2)" "$tree/apimachinery"
      ;;
    x10)
      local mods=("k8s.io/client-go v0.37.2" "k8s.io/api v0.37.2" "k8s.io/apimachinery v0.37.2"
        "github.com/anchore/syft $SYFT_V" "github.com/anchore/grype $GRYPE_V" "github.com/sigstore/cosign/v2 $COSIGN_V")
      local i=0 size=0 target=$((240 * 1024 * 1024))
      while ((size < target)); do
        read -r m v <<<"${mods[$((i % ${#mods[@]}))]}"
        cp -r "$(mod_src "$m" "$v")" "$tree/$i-${m##*/}"
        i=$((i + 1))
        size=$(du -sb "$tree" | cut -f1)
      done
      ;;
    *) echo "unknown tree kind $kind (prometheus, x10)" >&2; exit 2 ;;
  esac
  chmod -R u+w "$tree"
  mkdir -p "$tree/planted"
  # Assembled at run time so this script holds no secret-shaped literal.
  local aws="AKIA" gh="ghp_" slack="xoxb-"
  {
    echo "aws_access_key_id = ${aws}QYLPMN5HHHFPZAM2"
    echo "github_token: ${gh}8pTk4mQ2vR7sX9zW1yB3nC5dF6gH0jK2lL4a"
    echo "SLACK_TOKEN=${slack}263594206564-2343594206574-FGqddMF8t08v8N7Oq4i57vs1"
    echo "api_key = \"$(head -c 24 /dev/urandom | base64 | tr -d '/+=')\""
  } >"$tree/planted/settings.env"
}

# tree_bytes DIR: the bytes of its regular files.
tree_bytes() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }'; }

# start_registry: Debian's docker-registry on a free loopback port; sets HOST.
start_registry() {
  [[ -n "$REG_PID" ]] && return
  command -v docker-registry >/dev/null || { echo "needs Debian's docker-registry: apt-get install -y docker-registry" >&2; exit 1; }
  mkdir -p "$WORK/reg"
  cat >"$WORK/reg/config.yml" <<EOF
version: 0.1
log: {level: info, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $WORK/reg/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:0, secret: bench-only}
EOF
  docker-registry serve "$WORK/reg/config.yml" >"$WORK/reg/log" 2>&1 &
  REG_PID=$!
  HOST=""
  for _ in $(seq 100); do
    HOST=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$WORK/reg/log" | head -1 | sed 's/listening on //') || true
    [[ -n "$HOST" ]] && break
    sleep 0.1
  done
  [[ -n "$HOST" ]] || { echo "the registry did not start:"; cat "$WORK/reg/log"; exit 1; }
}

# make_image: the benchmark image, built without Docker and pushed to the loopback
# registry; sets IMG. Its rootfs: the host's Debian dpkg database and os-release,
# syft's source tree and three Go binaries with hundreds of modules each
# (secure-gates, cosign, crane).
make_image() {
  [[ -n "${IMG:-}" ]] && return
  start_registry
  [[ -n "${SG:-}" ]] || build_sg
  local crane cosign rfs="$WORK/rootfs"
  crane=$(tool crane github.com/google/go-containerregistry/cmd/crane $CRANE_V)
  cosign=$(tool cosign github.com/sigstore/cosign/v2/cmd/cosign $COSIGN_V)
  rm -rf "$rfs"
  mkdir -p "$rfs/etc" "$rfs/var/lib/dpkg" "$rfs/usr/local/bin" "$rfs/src"
  cp /etc/os-release "$rfs/etc/os-release"
  [[ -f /etc/debian_version ]] && cp /etc/debian_version "$rfs/etc/"
  cp /var/lib/dpkg/status "$rfs/var/lib/dpkg/status"
  cp "$SG" "$cosign" "$crane" "$rfs/usr/local/bin/"
  cp -r "$(syft_src)" "$rfs/src/syft" && chmod -R u+w "$rfs"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2024-01-01 00:00:00Z' -C "$rfs" -czf "$WORK/layer.tar.gz" .
  "$crane" append --oci-empty-base -f "$WORK/layer.tar.gz" -t "$HOST/bench/app:tmp" >/dev/null 2>&1
  "$crane" mutate "$HOST/bench/app:tmp" --set-platform linux/amd64 -t "$HOST/bench/app:v1" >/dev/null 2>&1
  IMG="$HOST/bench/app:v1"
  echo "image: $IMG@$("$crane" digest "$IMG") ($(find "$rfs" -type f | wc -l) files, $(du -sh "$WORK/layer.tar.gz" | cut -f1) compressed)"
}

# bench_db: the benchmark DB, one for both scripts; sets DB and exports
# GRYPE_DB_CACHE_DIR. Built once into the tools cache (keyed by dbgen's source
# and SYNTHETIC): the four real advisories, SYNTHETIC never-matching ones for
# made-up packages, and three never-matching ones for every distinct package
# name of the default scan tree and of the benchmark image (syft CLI SBOMs of
# both), so every lookup of either benchmark compares rows, as with a real DB.
bench_db() {
  local key
  key=$(sha256sum "$ROOT/action-test/bench/dbgen/main.go" | cut -c1-12)
  DB="$TOOLS/bench-db@$key-$SYNTHETIC"
  if [[ ! -f "$DB/6/vulnerability.db" ]]; then
    local syft names="$WORK/dbnames"
    syft=$(tool syft github.com/anchore/syft/cmd/syft $SYFT_V)
    mkdir -p "$names"
    make_tree "$names/tree"
    make_image
    echo "DB: cataloguing the tree and the image for package names ..."
    "$syft" "dir:$names/tree" -q -o "cyclonedx-json=$names/tree.cdx.json" >/dev/null
    "$syft" "registry:$IMG" -q -o "cyclonedx-json=$names/image.cdx.json" >/dev/null
    (cd "$ROOT" && go build -o "$WORK/dbgen" ./action-test/bench/dbgen)
    rm -rf "$DB.tmp"
    local t0 t1
    t0=$(now)
    "$WORK/dbgen" -root "$DB.tmp" -synthetic "$SYNTHETIC" -names "$names/tree.cdx.json,$names/image.cdx.json"
    t1=$(now)
    mv "$DB.tmp" "$DB"
    echo "DB: built in $(elapsed "$t0" "$t1") s (load average $(load))" | tee "$DB/build.txt"
  fi
  local n
  n=$(sqlite3 "$DB/6/vulnerability.db" 'select count(*) from vulnerability_handles' 2>/dev/null || echo "?")
  echo "DB: $DB ($(du -sh "$DB/6/vulnerability.db" | cut -f1), $n advisories; $(cat "$DB/build.txt" 2>/dev/null || echo "build time unknown"))"
  export GRYPE_DB_CACHE_DIR="$DB"
}

# measure LABEL CMD...: runs CMD (output to $WORK/LABEL.log) and appends its wall,
# user and system seconds (children included) to $WORK/t.LABEL; LAST_RC is its
# exit code.
measure() {
  local label=$1 rc=0
  shift
  local TIMEFORMAT='%R %U %S'
  { time { "$@" >>"$WORK/$label.log" 2>&1 || rc=$?; }; } 2>>"$WORK/t.$label"
  LAST_RC=$rc
}

# rounds: one untimed warm-up round of the script's theirs and ours (each takes
# the label prefix, here warm-), then RUNS timed rounds alternating which goes
# first; LOADS holds the load average before each timed round.
rounds() {
  local i
  echo "warm-up round (untimed; load average $(load)) ..."
  theirs warm- && ours warm-
  LOADS=()
  for i in $(seq "$RUNS"); do
    LOADS+=("$(load)")
    if ((i % 2)); then theirs "" && ours ""; else ours "" && theirs ""; fi
    echo "round $i done (load average before: ${LOADS[-1]}, after: $(load))"
  done
}

# tstat LABEL: "best-wall cpu-of-best median-wall median-cpu" over the timed runs.
tstat() {
  local best medw medc
  best=$(awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$WORK/t.$1" | sort -n | head -1)
  medw=$(awk '{ print $1 }' "$WORK/t.$1" | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", v[int((NR + 1) / 2)] }')
  medc=$(awk '{ print $2 + $3 }' "$WORK/t.$1" | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", v[int((NR + 1) / 2)] }')
  echo "$best $medw $medc"
}

# row LABEL TEXT: one line of the result table.
row() {
  local s
  read -r -a s <<<"$(tstat "$1")"
  printf '%-46s %8s %8s %10s %10s   runs: %s\n' "$2" "${s[0]}" "${s[1]}" "${s[2]}" "${s[3]}" "$(awk '{ printf "%s/%.1f ", $1, $2 + $3 }' "$WORK/t.$1")"
}
header() { printf '%-46s %8s %8s %10s %10s\n' "" "wall s" "CPU s" "med wall" "med CPU"; }
