#!/usr/bin/env bash
# Times `secure-gates scan` on a large real tree against the chain it replaces:
# the gitleaks, syft and grype CLIs (the versions go.mod pins), same tree, same DB.
#
#   action-test/bench/scan.sh                     # defaults below
#   RUNS=5 TREE=/path/to/repo action-test/bench/scan.sh
#
# TREE       the tree to scan (default: a copy of syft v1.54.1's source, thousands of
#            files and lockfiles of every ecosystem, plus this repository)
# SYNTHETIC  never-matching advisories padded into the DB (default 300000: the size
#            of a real DB, so every lookup compares rows; 0 for a quick run). The DB
#            is built once into the tools cache and shared with sbom.sh (lib.sh).
# RUNS       timed rounds (default 3), after one untimed warm-up round of both
#            sides; the order of the two sides alternates from round to round
# WORK       scratch folder (default: a new temp dir)
# PREPARE_ONLY=1  build the tools and the DB, time nothing
# TREE_KIND  prometheus | x10: the trees of issue 20 (lib.sh make_tree_kind):
#            a prometheus-sized Go tree (client-go and apimachinery, 23 MB) or a generated
#            tree ten times larger (240 MB)
# SECRETS_ONLY=1  time only the secrets pass: `gitleaks dir` against
#            `secure-gates scan --scanners secrets` (no DB, no syft, no grype), and
#            print each one's throughput in MB per CPU-second (user + sys, so a
#            loaded machine does not skew it) and ours / gitleaks', and check that
#            both report the same findings (rule, file, line)
# WARMUP=0   no warm-up round (SECRETS_ONLY; for the large tree)
# WARM=1     time the scan cache (issue 20): `secure-gates scan --scanners
#            secrets,deps,license --cache-dir`, cold (empty cache), warm on the unchanged
#            tree, warm after one source file changed, and warm after a lockfile (the
#            first go.mod or package-lock.json) changed; prints each and its ratio to
#            cold (targets: unchanged <= 0.05, one file <= 0.10), and checks that every
#            run reports the cold run's findings. No gitleaks, syft or grype runs.
# DB_ROOT    (WARM) a grype DB root to use instead of building the benchmark DB
#
# Same work on both sides: the same tree, the same DB (grype with updates and age
# validation off, both sides checking its hash), gitleaks' default rules on both
# (the tree holds no .gitleaks.toml), syft's default package catalogers for a
# directory on both. Prints the best and median wall and CPU (user+sys) seconds of
# each, the load average, and the ratios scan / (gitleaks + syft + grype).
# Target: <= 0.5.
# Profile our side with BenchmarkRunTree (pkg/scan/tree_bench_test.go) on the same
# tree and DB. Not run by CI.
set -euo pipefail

WORK=${WORK:-$(mktemp -d -t sg-bench-scan-XXXXXX)}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
echo "work dir: $WORK"

build_sg
GITLEAKS=$(tool gitleaks github.com/zricethezav/gitleaks/v8 $GITLEAKS_V)

if [[ -z "${TREE:-}" && -n "${TREE_KIND:-}" ]]; then
  TREE="$WORK/tree-$TREE_KIND"
  make_tree_kind "$TREE_KIND" "$TREE"
elif [[ -z "${TREE:-}" ]]; then
  TREE="$WORK/tree"
  make_tree "$TREE"
fi
echo "tree: $TREE ($(find "$TREE" -type f | wc -l) files, $(du -sh "$TREE" | cut -f1))"
# warm_bench: the WARM mode (see the header).
warm_bench() {
  if [[ -n "${DB_ROOT:-}" ]]; then DB=$DB_ROOT; else bench_db && bench_cleanup; fi
  local out="$WORK/out" cache="$WORK/scan-cache"
  orig="$WORK/orig" # global: the EXIT trap restores the edited files
  src=$(find "$TREE" -name '*.go' -type f -not -path '*/planted/*' | sort | sed -n 1p)
  lock=$(find "$TREE" \( -name go.mod -o -name package-lock.json \) -type f | sort | sed -n 1p)
  [[ -n "$src" && -n "$lock" ]] || { echo "the tree needs a .go file and a go.mod or package-lock.json" >&2; exit 2; }
  echo "edited between runs: $src (a comment line), $lock (a blank line)"
  mkdir -p "$out" "$orig"
  cp "$src" "$orig/src" && cp "$lock" "$orig/lock"
  restore() { cp "$orig/src" "$src" && cp "$orig/lock" "$lock"; }
  cached() {
    rm -rf "${out:?}/$1"
    (cd "$WORK" && "$SG" scan --db-dir "$DB" --max-db-age 1000000h --upload-sarif false --scanners secrets,deps,license \
      --cache-dir "$cache" --output-dir "$out/$1" "$TREE")
  }
  findings() { jq -r '.runs[] | .tool.driver.name as $t | .results[] | "\($t) \(.ruleId) \(.locations[0].physicalLocation.artifactLocation.uri):\(.locations[0].physicalLocation.region.startLine // 0)"' "$out/$1/scan.sarif" | sort; }
  same() {
    if ! diff <(findings "$1") <(findings "$2") >"$out/$2.diff"; then
      echo "findings of $2 DIFFER from $1's ($out/$2.diff)"; exit 1
    fi
  }
  check() { if [[ "$LAST_RC" -ne 0 && "$LAST_RC" -ne 1 ]]; then echo "$1 failed (exit $LAST_RC):"; tail -20 "$WORK/$1.log"; exit 1; fi; }
  trap 'restore; bench_cleanup' EXIT
  for i in $(seq "$RUNS"); do
    restore
    rm -rf "$cache"
    measure cold cached cold && check cold
    measure warm cached warm && check warm && same cold warm
    printf '\n// edited by the benchmark\n' >>"$src"
    measure warm-src cached warm-src && check warm-src
    restore
    printf '\n' >>"$lock"
    measure warm-lock cached warm-lock && check warm-lock && same cold warm-lock
    restore
    echo "round $i done (load average $(load)); $(grep -h 'scan cache' "$WORK/warm.log" | tail -1)"
  done
  echo
  header
  row cold "cold (empty cache)"
  row warm "warm, tree unchanged"
  row warm-src "warm, one source file changed"
  row warm-lock "warm, the lockfile changed"
  read -r CW CC _ <<<"$(tstat cold)"
  for l in warm warm-src warm-lock; do
    read -r W C _ <<<"$(tstat "$l")"
    awk -v l="$l" -v w="$W" -v c="$C" -v cw="$CW" -v cc="$CC" 'BEGIN { printf "%-10s / cold: wall %.3f, CPU %.3f\n", l, w / cw, c / cc }'
  done
}

if [[ -n "${SECRETS_ONLY:-}" ]]; then
  OUT="$WORK/out"
  mkdir -p "$OUT"
  gitleaks_dir() { "$GITLEAKS" dir "$TREE" --no-banner --exit-code 0 --redact -f json -r "$OUT/gitleaks.json"; }
  sg_secrets() { rm -rf "$OUT/sg"; (cd "$WORK" && "$SG" scan --scanners secrets --upload-sarif false --output-dir "$OUT/sg" "$TREE"); }
  check() {
    if [[ "$LAST_RC" -ne 0 && ! ("$LAST_RC" -eq 1 && "$1" == *sg*) ]]; then
      echo "$1 failed (exit $LAST_RC):"; tail -20 "$WORK/$1.log"; exit 1
    fi
  }
  if [[ "${WARMUP:-1}" != 0 ]]; then
    echo "warm-up round (untimed; load average $(load)) ..."
    measure warm-gitleaks gitleaks_dir && check warm-gitleaks
    measure warm-sg sg_secrets && check warm-sg
  fi
  for i in $(seq "$RUNS"); do
    if ((i % 2)); then
      measure gitleaks gitleaks_dir && check gitleaks
      measure sg sg_secrets && check sg
    else
      measure sg sg_secrets && check sg
      measure gitleaks gitleaks_dir && check gitleaks
    fi
    echo "round $i done (load average $(load))"
  done
  MB=$(awk -v b="$(tree_bytes "$TREE")" 'BEGIN { printf "%.1f", b / 1e6 }')
  # The same findings: rule, file and line of each (gitleaks names files by the
  # path it was given, the SARIF relative to the working directory).
  REL=$(realpath --relative-to="$WORK" "$TREE")
  jq -r --arg t "$TREE/" '.[] | "\(.RuleID) \(.File | ltrimstr($t)):\(.StartLine)"' "$OUT/gitleaks.json" | sort >"$OUT/gitleaks.txt"
  jq -r --arg t "$REL/" '.runs[] | select(.tool.driver.name == "gitleaks") | .results[] |
    "\(.ruleId) \(.locations[0].physicalLocation.artifactLocation.uri | ltrimstr($t)):\(.locations[0].physicalLocation.region.startLine)"' \
    "$OUT/sg/scan.sarif" | sort >"$OUT/sg.txt"
  echo
  if diff "$OUT/gitleaks.txt" "$OUT/sg.txt" >"$OUT/findings.diff"; then
    echo "findings: the same $(wc -l <"$OUT/sg.txt") (rule, file, line) from gitleaks and secure-gates"
  else
    echo "findings DIFFER (< gitleaks, > secure-gates; $OUT/findings.diff):"
    head -20 "$OUT/findings.diff"
  fi
  header
  row gitleaks "gitleaks dir"
  row sg "secure-gates scan --scanners secrets"
  # Throughput per CPU-second (user + sys): the least and the median over the runs.
  cpu() { awk '{ print $2 + $3 }' "$WORK/t.$1" | sort -n | awk '{ v[NR] = $1 } END { printf "%s %s", v[1], v[int((NR + 1) / 2)] }'; }
  read -r GLC GLM <<<"$(cpu gitleaks)"
  read -r SGC SGM <<<"$(cpu sg)"
  awk -v mb="$MB" -v glc="$GLC" -v glm="$GLM" -v sgc="$SGC" -v sgm="$SGM" 'BEGIN {
    printf "\n%s MB; MB per CPU-second (user + sys), least CPU / median CPU of the runs\n", mb
    printf "gitleaks dir:     %6.2f / %6.2f\n", mb / glc, mb / glm
    printf "secure-gates:     %6.2f / %6.2f\n", mb / sgc, mb / sgm
    printf "ours / gitleaks:  %6.2fx / %6.2fx (target >= 3)\n", glc / sgc, glm / sgm
  }'
  exit 0
fi
if [[ -n "${WARM:-}" ]]; then
  warm_bench
  exit 0
fi
SYFT=$(tool syft github.com/anchore/syft/cmd/syft $SYFT_V)
GRYPE=$(tool grype github.com/anchore/grype/cmd/grype $GRYPE_V)
bench_db
bench_cleanup # the registry was only needed to build the DB
[[ -z "${PREPARE_ONLY:-}" ]] || { echo "PREPARE_ONLY: tools, tree/image and DB are ready"; exit 0; }

OUT="$WORK/out"
gitleaks_dir() { "$GITLEAKS" dir "$TREE" --no-banner --exit-code 0 --redact -f json -r "$OUT/gitleaks.json"; }
syft_dir() { "$SYFT" "dir:$TREE" -q -o "json=$OUT/syft.json"; }
# syft as secure-gates configures it: its Go cataloger does not run the go tool
# (go/packages' `go list -deps -test all`) in the scanned tree.
syft_dir_nogo() { SYFT_GOLANG_USE_PACKAGES_LIB=false "$SYFT" "dir:$TREE" -q -o "json=$OUT/syft-nogo.json"; }
grype_dir() { "$GRYPE" "dir:$TREE" -q -o json --file "$OUT/grype.json"; }
grype_sbom() { "$GRYPE" "sbom:$OUT/syft.json" -q -o json --file "$OUT/grype-sbom.json"; }
sg_scan() {
  local out=$1
  shift
  (cd "$WORK" && "$SG" scan --db-dir "$DB" --max-db-age 1000000h --upload-sarif false --output-dir "$out" "$@" "$TREE")
}

# check LABEL: the last run exited 0 (or 1, a failing verdict, for ours).
check() {
  if [[ "$LAST_RC" -ne 0 && ! ("$LAST_RC" -eq 1 && "$1" == *sg*) ]]; then
    echo "$1 failed (exit $LAST_RC):"
    tail -20 "$WORK/$1.log"
    exit 1
  fi
}
theirs() {
  local pre=$1
  measure "${pre}gitleaks" gitleaks_dir && check "${pre}gitleaks"
  measure "${pre}syft" syft_dir && check "${pre}syft"
  measure "${pre}syft-nogo" syft_dir_nogo && check "${pre}syft-nogo"
  measure "${pre}grype-dir" grype_dir && check "${pre}grype-dir"
  measure "${pre}grype-sbom" grype_sbom && check "${pre}grype-sbom"
}
ours() {
  local pre=$1
  rm -rf "$OUT/sg" "$OUT/sg-all"
  measure "${pre}sg" sg_scan "$OUT/sg" --scanners secrets,deps,license && check "${pre}sg"
  measure "${pre}sg-all" sg_scan "$OUT/sg-all" --scanners secrets,deps,license,iac && check "${pre}sg-all"
}

mkdir -p "$OUT"
rounds

echo
echo "same tree, same DB; $RUNS rounds; load average before each round: ${LOADS[*]}; now $(load)"
echo "findings: gitleaks $(jq length "$OUT/gitleaks.json"), secure-gates secrets $(jq '[.runs[] | select(.tool.driver.name == "gitleaks") | .results | length] | add // 0' "$OUT/sg/scan.sarif")"
echo "packages: syft $(jq '.artifacts | length' "$OUT/syft.json"), syft without the go tool $(jq '.artifacts | length' "$OUT/syft-nogo.json")"
echo "matches:  grype dir $(jq '.matches | length' "$OUT/grype.json"), grype sbom $(jq '.matches | length' "$OUT/grype-sbom.json"), secure-gates $(jq '.scanner.result.matches | length' "$OUT/sg/vuln.json")"
echo
header
row gitleaks "gitleaks dir"
row syft "syft dir (SBOM, licenses)"
row syft-nogo "syft dir, go tool not run (as ours)"
row grype-dir "grype dir (its own catalog)"
row grype-sbom "grype sbom: (syft's catalog)"
row sg "secure-gates scan (secrets,deps,license)"
row sg-all "secure-gates scan (+iac)"
read -r GLW GLC _ <<<"$(tstat gitleaks)"
read -r SYW SYC _ <<<"$(tstat syft)"
read -r SNW SNC _ <<<"$(tstat syft-nogo)"
read -r GDW GDC _ <<<"$(tstat grype-dir)"
read -r GSW GSC _ <<<"$(tstat grype-sbom)"
read -r SGW SGC _ <<<"$(tstat sg)"
read -r SAW SAC _ <<<"$(tstat sg-all)"
awk -v glw="$GLW" -v glc="$GLC" -v syw="$SYW" -v syc="$SYC" -v gdw="$GDW" -v gdc="$GDC" -v gsw="$GSW" -v gsc="$GSC" \
  -v snw="$SNW" -v snc="$SNC" -v sgw="$SGW" -v sgc="$SGC" -v saw="$SAW" -v sac="$SAC" 'BEGIN {
  cw = glw + syw + gdw; cc = glc + syc + gdc; rw = glw + syw + gsw; rc = glc + syc + gsc
  printf "\n(best of each; CPU = user + sys)\n"
  printf "chain gitleaks + syft + grype dir:   wall %6.2f s, CPU %6.2f s   scan/chain: wall %.2f, CPU %.2f  (target wall <= 0.50)\n", cw, cc, sgw / cw, sgc / cc
  printf "chain gitleaks + syft + grype sbom:  wall %6.2f s, CPU %6.2f s   scan/chain: wall %.2f, CPU %.2f\n", rw, rc, sgw / rw, sgc / rc
  printf "scan with iac / chain (grype dir):   wall %.2f, CPU %.2f\n", saw / cw, sac / cc
  nw = glw + snw + gdw; nc = glc + snc + gdc
  printf "chain with syft not running go:      wall %6.2f s, CPU %6.2f s   scan/chain: wall %.2f, CPU %.2f\n", nw, nc, sgw / nw, sgc / nc
}'
