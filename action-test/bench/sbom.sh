#!/usr/bin/env bash
# Times `secure-gates sbom` (CycloneDX + SPDX + image vulnerability scan, one
# process) against what a user would run instead: the syft CLI writing both
# formats in one run (-o cyclonedx-json=… -o spdx-json=…) plus the grype CLI on
# that SBOM — the versions go.mod pins, same image in a loopback registry, same DB.
#
#   action-test/bench/sbom.sh
#   RUNS=5 action-test/bench/sbom.sh
#
# SYNTHETIC  never-matching advisories padded into the DB (default 300000: a real
#            DB's size, so every lookup compares rows). The DB is built once into
#            the tools cache and shared with scan.sh (lib.sh).
# RUNS       timed rounds (default 3), after one untimed warm-up round of both
#            sides; the order of the two sides alternates from round to round
# WORK       scratch folder (default: a new temp dir)
# PREPARE_ONLY=1  build the tools and the DB, time nothing
#
# The image (built without Docker): the host's Debian dpkg database and
# os-release, syft v1.54.1's source tree (thousands of files, fixtures of every
# ecosystem) and three Go binaries with hundreds of modules each (secure-gates,
# cosign, crane). Both sides pull it from the registry on every run; grype gets
# the same DB with updates and age validation off (both sides check its hash).
# grype reads the SPDX document: on this image's CycloneDX document syft v1.54.1's
# CycloneDX property decoder (which grype uses) recurses without bound and grype
# is killed for lack of memory (24 GB here); the SPDX document holds the same
# catalog and grype reads it in about two seconds.
#
# syft's CLI also runs its file catalogers by default (metadata and sha1+sha256
# digests of every file a package owns); secure-gates runs only the package
# catalogers (pkg/catalog). The target compares with the CLI as a user runs it;
# the "same catalogers" row (SYFT_FILE_METADATA_SELECTION=none) shows how much of
# the difference that is. Prints the best and median wall and CPU (user+sys)
# seconds, the load average and the ratio sbom / (syft + grype). Target: <= 0.6.
# Profile our side with BenchmarkGateImage (actions/sbom/bench_test.go) on the
# same image and DB. Not run by CI.
set -euo pipefail

WORK=${WORK:-$(mktemp -d -t sg-bench-sbom-XXXXXX)}
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
echo "work dir: $WORK"

build_sg
SYFT=$(tool syft github.com/anchore/syft/cmd/syft $SYFT_V)
GRYPE=$(tool grype github.com/anchore/grype/cmd/grype $GRYPE_V)
make_image
bench_db
[[ -z "${PREPARE_ONLY:-}" ]] || { echo "PREPARE_ONLY: tools, tree/image and DB are ready"; exit 0; }

OUT="$WORK/out"
syft_two() {
  "$SYFT" "registry:$IMG" -q -o "cyclonedx-json=$OUT/theirs/sbom.cdx.json" -o "spdx-json=$OUT/theirs/sbom.spdx.json"
}
syft_nofiles() {
  SYFT_FILE_METADATA_SELECTION=none "$SYFT" "registry:$IMG" -q -o "cyclonedx-json=$OUT/nofiles/sbom.cdx.json" -o "spdx-json=$OUT/nofiles/sbom.spdx.json"
}
grype_sbom() { "$GRYPE" "sbom:$OUT/theirs/sbom.spdx.json" -q -o json --file "$OUT/theirs/grype.json"; }
sg_sbom() {
  (cd "$WORK" && "$SG" sbom --image "$IMG" --db-dir "$DB" --max-db-age 1000000h --output-dir "$OUT/ours" \
    --upload-sarif false --severity-cutoff critical)
}

# check LABEL: the last run exited 0 (or 1, a failing verdict, for ours).
check() {
  if [[ "$LAST_RC" -ne 0 && ! ("$LAST_RC" -eq 1 && "$1" == *sg) ]]; then
    echo "$1 failed (exit $LAST_RC):"
    tail -20 "$WORK/$1.log"
    exit 1
  fi
}
theirs() {
  local pre=$1
  rm -rf "$OUT/theirs" "$OUT/nofiles" && mkdir -p "$OUT/theirs" "$OUT/nofiles"
  measure "${pre}syft" syft_two && check "${pre}syft"
  measure "${pre}grype" grype_sbom && check "${pre}grype"
  measure "${pre}syft-nofiles" syft_nofiles && check "${pre}syft-nofiles"
}
ours() {
  local pre=$1
  rm -rf "$OUT/ours"
  measure "${pre}sg" sg_sbom && check "${pre}sg"
  [[ -s "$OUT/ours/sbom.cdx.json" && -s "$OUT/ours/vuln-predicate.json" ]] ||
    { echo "secure-gates sbom wrote no SBOM or vuln predicate:"; tail -20 "$WORK/${pre}sg.log"; exit 1; }
}

rounds

echo
echo "same image, same DB; $RUNS rounds; load average before each round: ${LOADS[*]}; now $(load)"
echo "packages: syft $(jq '.components | length' "$OUT/theirs/sbom.cdx.json") components, secure-gates $(jq '.components | length' "$OUT/ours/sbom.cdx.json")"
echo "matches:  grype $(jq '.matches | length' "$OUT/theirs/grype.json"), secure-gates $(jq '.scanner.result.matches | length' "$OUT/ours/vuln-predicate.json")"
echo
header
row syft "syft (2 formats)"
row grype "grype (sbom: the SPDX document)"
row syft-nofiles "syft (2 formats, same catalogers as ours)"
row sg "secure-gates sbom (2 formats + vulns)"
read -r SYW SYC _ <<<"$(tstat syft)"
read -r GRW GRC _ <<<"$(tstat grype)"
read -r SNW SNC _ <<<"$(tstat syft-nofiles)"
read -r SGW SGC _ <<<"$(tstat sg)"
awk -v syw="$SYW" -v syc="$SYC" -v grw="$GRW" -v grc="$GRC" -v snw="$SNW" -v snc="$SNC" -v sgw="$SGW" -v sgc="$SGC" 'BEGIN {
  printf "\n(best of each; CPU = user + sys)\n"
  printf "syft + grype:                    wall %6.2f s, CPU %6.2f s   sbom/(syft+grype): wall %.2f, CPU %.2f  (target wall <= 0.60)\n", syw + grw, syc + grc, sgw / (syw + grw), sgc / (syc + grc)
  printf "syft (same catalogers) + grype:  wall %6.2f s, CPU %6.2f s   sbom/(syft+grype): wall %.2f, CPU %.2f\n", snw + grw, snc + grc, sgw / (snw + grw), sgc / (snc + grc)
}'
