package secrets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/secure-gates/secure-gates/internal/testinfra"
)

// awsKey builds a value matching gitleaks' aws-access-token rule from a seed, at
// test time only (no credential-shaped string is committed).
func awsKey(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return "AK" + "IA" + base32.StdEncoding.EncodeToString(sum[:])[:16]
}

// writeTree writes files (contents by slash path) into a new temporary
// directory.
func writeTree(t *testing.T, files map[string][]byte) string {
	t.Helper()
	return testinfra.WriteTree(t, t.TempDir(), files)
}

// fragmentEnds are the file offsets where the fragments of a file without
// newlines end: a secret cut by one of them must still be found whole.
func fragmentEnds(n int) []int {
	const full = chunkBytes + 2*overlapBytes
	var ends []int
	start := 0
	for range n {
		ends = append(ends, start+full)
		start += full - overlapBytes
	}
	return ends
}

// Observation 8 of issue 13: a secret in a file over the old 10 MB cap passed,
// and nothing said the file was not read. Files up to 100 MB are streamed in
// overlapping chunks; every file not read is named with its reason.
func TestLargeFilesAndChunkBoundaries(t *testing.T) {
	t.Parallel()
	type want struct {
		findings   []string // "rule path:line"
		notScanned []string // "path: reason prefix"
	}
	filler := bytes.Repeat([]byte("lorem ipsum dolor sit amet, consectetur adipiscing elit\n"), 11<<20/56)
	big := append(append(slices.Clone(filler), []byte("aws_key = "+awsKey("big")+"\n")...), filler[:1000]...)
	bigLine := strings.Count(string(filler), "\n") + 1

	// One line, no newline at all: keys cut by each of the first two fragment ends.
	oneLine := bytes.Repeat([]byte(" "), fragmentEnds(2)[1]+100)
	var cut []string
	for i, end := range fragmentEnds(2) {
		k := awsKey(fmt.Sprint("cut", i))
		copy(oneLine[end-10:], k)
		cut = append(cut, "aws-access-token one-line.txt:1")
	}
	// Lines of 100 bytes with a key every 40 KB: every key whole and on its line.
	var lines bytes.Buffer
	var linesWant []string
	for i := 1; lines.Len() < fragmentEnds(2)[1]+(100<<10); i++ {
		if i%400 == 0 {
			fmt.Fprintf(&lines, "key = %s %s\n", awsKey(fmt.Sprint("line", i)), strings.Repeat("-", 72))
			linesWant = append(linesWant, fmt.Sprintf("aws-access-token lines.txt:%d", i))
			continue
		}
		lines.WriteString(strings.Repeat("x", 99) + "\n")
	}
	// A private key straddling the first fragment end, in a file of lines.
	pem := "-----BEGIN RSA PRIVATE KEY-----\n" + strings.Repeat(base32.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5a, 0xa5, 0x3c}, 40))+"\n", 20) + "-----END RSA PRIVATE KEY-----\n"
	pemFile := bytes.Repeat([]byte("y\n"), (fragmentEnds(1)[0]-len(pem)/2)/2)
	pemLine := strings.Count(string(pemFile), "\n") + 1
	pemFile = append(append(pemFile, pem...), bytes.Repeat([]byte("z\n"), 1000)...)

	withNUL := []byte("\x00\x01\x02 header\x00\naws = " + awsKey("nul") + "\n\x00\x00")
	zipMagic := append([]byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), []byte("\naws = "+awsKey("zip")+"\n")...)
	gzipMagic := append([]byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"), []byte("\naws = "+awsKey("gzip")+"\n")...)
	// A real binary: a zip header then 8 KiB of incompressible bytes, with a
	// key after them (gitleaks does not read binaries either: it is named).
	var noise []byte
	for i := 0; len(noise) < 8<<10; i++ {
		sum := sha256.Sum256([]byte(fmt.Sprint("noise", i)))
		noise = append(noise, sum[:]...)
	}
	realZip := append(append([]byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), noise...), []byte("\naws = "+awsKey("realzip")+"\n")...)
	realBin := append(slices.Clone(noise), []byte("\naws = "+awsKey("realbin")+"\n")...)

	tests := []struct {
		name  string
		files map[string][]byte
		opts  Options
		want  want
	}{
		{"an AWS key in an 11 MB file", map[string][]byte{"logs/big.log": big}, Options{},
			want{findings: []string{fmt.Sprintf("aws-access-token logs/big.log:%d", bigLine)}}},
		{"keys cut by fragment ends in a line without newlines", map[string][]byte{"one-line.txt": oneLine}, Options{},
			want{findings: cut}},
		{"keys every 40 KB in 2.4 MB of lines, at their lines", map[string][]byte{"lines.txt": lines.Bytes()}, Options{},
			want{findings: linesWant}},
		{"a private key across a fragment end", map[string][]byte{"keys/id_rsa.txt": pemFile}, Options{},
			want{findings: []string{fmt.Sprintf("private-key keys/id_rsa.txt:%d", pemLine)}}},
		{"NUL bytes do not hide a key", map[string][]byte{"data.dat": withNUL}, Options{},
			want{findings: []string{"aws-access-token data.dat:2"}}},
		{"a binary file is not read, and is named", map[string][]byte{"dist/app.zip": realZip, "dist/app.png": realBin}, Options{},
			want{notScanned: []string{"dist/app.png: binary file", "dist/app.zip: binary file (application/zip)"}}},
		// Binary is decided by content, not by a magic prefix or an extension:
		// a text file starting with an archive's magic bytes, or named like an
		// image or an executable, is read.
		{"a text file starting with zip or gzip magic bytes is read", map[string][]byte{"notes.txt": gzipMagic, "dist/app.zip": zipMagic}, Options{},
			want{findings: []string{"aws-access-token dist/app.zip:2", "aws-access-token notes.txt:2"}}},
		{"a text file named like an image, a font or an executable is read", map[string][]byte{
			"x.png": []byte("aws = " + awsKey("png") + "\n"), "fonts/a.woff2": []byte("aws = " + awsKey("woff") + "\n"),
			"bin/tool.exe": []byte("aws = " + awsKey("exe") + "\n")}, Options{},
			want{findings: []string{"aws-access-token bin/tool.exe:1", "aws-access-token fonts/a.woff2:1", "aws-access-token x.png:1"}}},
		{"gitleaks' dependency allowlists stay named", map[string][]byte{"go.sum": []byte("aws = " + awsKey("sum") + "\n")}, Options{},
			want{notScanned: []string{"go.sum: path allowlisted"}}},
		{"a file over the cap is named", map[string][]byte{"big.txt": []byte("aws = " + awsKey("cap") + "\n")}, Options{MaxFileBytes: 10},
			want{notScanned: []string{"big.txt: larger than the 10-byte cap"}}},
		{"a nested repository's git metadata is named", map[string][]byte{"sub/.git/config": []byte("[core]\n"), "sub/a.txt": []byte("hello\n")}, Options{},
			want{notScanned: []string{"sub/.git/: git metadata of a nested repository"}}},
		{"an allowlisted directory is named once", map[string][]byte{"node_modules/a/x.js": []byte("k = " + awsKey("nm") + "\n"), "node_modules/b/y.js": []byte("y\n")}, Options{},
			want{notScanned: []string{"node_modules/: path allowlisted"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeTree(t, tt.files)
			res, err := Scan(context.Background(), dir, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			assertCachedSame(t, dir, tt.opts, res)
			var got []string
			for _, f := range res.Findings {
				got = append(got, fmt.Sprintf("%s %s:%d", f.RuleID, f.Path, f.StartLine))
			}
			slices.Sort(got)
			w := slices.Sorted(slices.Values(tt.want.findings))
			if !slices.Equal(got, w) {
				t.Errorf("findings:\n got %q\nwant %q", got, w)
			}
			if res.NotScannedCount != len(tt.want.notScanned) || len(res.NotScanned) != len(tt.want.notScanned) {
				t.Fatalf("not scanned = %d %+v, want %q", res.NotScannedCount, res.NotScanned, tt.want.notScanned)
			}
			for i, n := range res.NotScanned {
				if !strings.HasPrefix(n.Path+": "+n.Reason, tt.want.notScanned[i]) {
					t.Errorf("not scanned %q: %q, want %q", n.Path, n.Reason, tt.want.notScanned[i])
				}
			}
		})
	}
}

// Two different secrets of one rule in one file have different fingerprints (a
// waiver of one must not waive the other), and a secret replaced in a pull
// request's history is still reported next to its successor.
func TestFingerprintsCoverTheSecret(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, map[string][]byte{"a.env": []byte("one = " + awsKey("one") + "\ntwo = " + awsKey("two") + "\n")})
	res, err := Scan(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 2 || res.Findings[0].Fingerprint == res.Findings[1].Fingerprint {
		t.Fatalf("findings %+v: want two with different fingerprints", res.Findings)
	}
}

// Symlinks and special files are not read, and are named.
func TestSymlinksAndSpecialFilesNamed(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("symlinks and FIFOs")
	}
	outside := writeTree(t, map[string][]byte{"creds.txt": []byte("aws = " + awsKey("outside") + "\n")})
	dir := writeTree(t, map[string][]byte{"README.md": []byte("hello\n")})
	if err := os.Symlink(filepath.Join(outside, "creds.txt"), filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Scan(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []NotScanned{{Path: "link.txt", Reason: ReasonSymlink}, {Path: "pipe", Reason: ReasonSpecial}}
	if !slices.Equal(res.NotScanned, want) || res.NotScannedCount != 2 || len(res.Findings) != 0 {
		t.Errorf("not scanned %+v (%d), findings %d; want %+v", res.NotScanned, res.NotScannedCount, len(res.Findings), want)
	}
}
