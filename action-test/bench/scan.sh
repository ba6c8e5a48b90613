#!/usr/bin/env bash
# Times `secure-gates scan` on a large real tree against the chain it replaces:
# the gitleaks, syft and grype CLIs (the versions go.mod pins), same tree, same DB.
#
#   action-test/bench/scan.sh            # defaults below
#   TREE=/path/to/repo SYNTHETIC=300000 action-test/bench/scan.sh
#
# TREE       the tree to scan (default: a copy of syft v1.54.1's source, thousands of
#            files and lockfiles of every ecosystem, plus this repository)
# SYNTHETIC  never-matching advisories padded into the DB (default 300000: the size
#            of a real DB, so every lookup compares rows; 0 for a quick run)
# WORK       scratch folder (default: a new temp dir)
#
# Prints each wall time and the ratio scan / (gitleaks + syft + grype). Target: <= 0.5.
# Not run by CI.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${WORK:-$(mktemp -d -t sg-bench-XXXXXX)}
SYNTHETIC=${SYNTHETIC:-300000}
TOOLS=${SECURE_GATES_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/secure-gates/tools}
GITLEAKS_V=v8.30.1 SYFT_V=v1.54.1 GRYPE_V=v0.120.1
mkdir -p "$WORK" "$TOOLS"
echo "work dir: $WORK"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# tool NAME PACKAGE VERSION: reuse the test tools cache (<tools>/<name>@<version>/<name>)
# when it holds the binary, else go install it into $WORK/bin; fall back to building
# the package inside this module (the same pinned version, from go.mod).
tool() {
  local name=$1 pkg=$2 version=$3
  if [[ -x "$TOOLS/$name@$version/$name" ]]; then
    echo "$TOOLS/$name@$version/$name"
    return
  fi
  local dir="$WORK/bin/$name@$version"
  if [[ ! -x "$dir/$name" ]]; then
    echo "building $name $version ..." >&2
    mkdir -p "$dir"
    if ! GOBIN="$dir" GOFLAGS=-mod=mod go install "$pkg@$version" >"$dir/build.log" 2>&1; then
      (cd "$ROOT" && go build -o "$dir/$name" "$pkg") >>"$dir/build.log" 2>&1 ||
        { echo "building $name failed, see $dir/build.log" >&2; exit 1; }
    fi
  fi
  echo "$dir/$name"
}

SG="$WORK/secure-gates"
(cd "$ROOT" && go build -o "$SG" .)
GITLEAKS=$(tool gitleaks github.com/zricethezav/gitleaks/v8 $GITLEAKS_V)
SYFT=$(tool syft github.com/anchore/syft/cmd/syft $SYFT_V)
GRYPE=$(tool grype github.com/anchore/grype/cmd/grype $GRYPE_V)

# The tree.
if [[ -z "${TREE:-}" ]]; then
  TREE="$WORK/tree"
  SYFT_SRC=$(cd "$ROOT" && go mod download -json github.com/anchore/syft@$SYFT_V | awk -F'"' '/"Dir"/ {print $4}')
  mkdir -p "$TREE"
  cp -r "$SYFT_SRC" "$TREE/syft" && chmod -R u+w "$TREE"
  mkdir -p "$TREE/secure-gates"
  (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
    tar --null --ignore-failed-read -T - -cf - 2>/dev/null) | tar -C "$TREE/secure-gates" -xf -
fi
echo "tree: $TREE ($(find "$TREE" -type f | wc -l) files)"

# The DB: grype v6 from real advisories, padded to a realistic size.
DB="$WORK/db"
if [[ ! -f "$DB/6/vulnerability.db" ]]; then
  (cd "$ROOT" && go build -o "$WORK/dbgen" ./action-test/bench/dbgen)
  t0=$(now); "$WORK/dbgen" -root "$DB" -synthetic "$SYNTHETIC"; t1=$(now)
  echo "DB: $SYNTHETIC synthetic advisories, built in $(elapsed "$t0" "$t1") s ($(du -sh "$DB" | cut -f1))"
fi

export GRYPE_DB_CACHE_DIR="$DB" GRYPE_DB_AUTO_UPDATE=false GRYPE_DB_VALIDATE_AGE=false GRYPE_CHECK_FOR_APP_UPDATE=false
export SYFT_CHECK_FOR_APP_UPDATE=false

t0=$(now); "$GITLEAKS" dir "$TREE" --no-banner --exit-code 0 --redact -f json -r "$WORK/gitleaks.json" >/dev/null 2>&1; t1=$(now)
GL=$(elapsed "$t0" "$t1")
t0=$(now); "$SYFT" "dir:$TREE" -q -o "json=$WORK/syft.json" >/dev/null; t1=$(now)
SY=$(elapsed "$t0" "$t1")
t0=$(now); "$GRYPE" "dir:$TREE" -q -o json --file "$WORK/grype.json" >/dev/null || true; t1=$(now)
GR=$(elapsed "$t0" "$t1")
t0=$(now); "$GRYPE" "sbom:$WORK/syft.json" -q -o json --file "$WORK/grype-sbom.json" >/dev/null || true; t1=$(now)
GS=$(elapsed "$t0" "$t1")

run_scan() {
  local out=$1; shift
  "$SG" scan --db-dir "$DB" --max-db-age 100000h --upload-sarif false --output-dir "$out" "$@" "$TREE" >"$out.log" 2>&1 || true
}
t0=$(now); run_scan "$WORK/sg-same" --scanners secrets,deps,license; t1=$(now)
SG_SAME=$(elapsed "$t0" "$t1")
t0=$(now); run_scan "$WORK/sg-all" --scanners secrets,deps,license,iac; t1=$(now)
SG_ALL=$(elapsed "$t0" "$t1")

echo
printf '%-52s %8s s\n' "gitleaks dir" "$GL" "syft dir (SBOM, licenses)" "$SY" "grype dir (its own catalog)" "$GR" \
  "grype sbom: (reusing syft's catalog)" "$GS" "secure-gates scan (secrets,deps,license)" "$SG_SAME" \
  "secure-gates scan (+iac)" "$SG_ALL"
awk -v gl="$GL" -v sy="$SY" -v gr="$GR" -v gs="$GS" -v s="$SG_SAME" 'BEGIN {
  chain = gl + sy + gr; reuse = gl + sy + gs
  printf "\nchain gitleaks + syft + grype dir:   %.2f s   ratio scan/chain = %.2f (target <= 0.50)\n", chain, s / chain
  printf "chain gitleaks + syft + grype sbom:  %.2f s   ratio scan/chain = %.2f\n", reuse, s / reuse
}'
