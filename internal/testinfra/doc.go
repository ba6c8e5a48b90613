// Package testinfra starts the real, offline services the tests of secure-gates
// use — an OCI registry on loopback (go-containerregistry's, in the test's own
// process; Debian's docker-registry for the one test about a real registry), a
// local keyless Sigstore stack, pinned outside tools built once into a cache
// folder keyed by version — and cleans them up when the test ends. Every
// service listens on a port of its own, so tests that start them can run in
// parallel. It is for tests only.
//
// It also holds what several packages' tests share instead of copying: the
// scan fixture repository (NewScanFixture, with its git runner), random images
// pushed to a registry (PushRandomImage), OCI layouts (OCILayout), schema
// checks of CycloneDX 1.6, SPDX 2.3 and SARIF 2.1.0 documents and an SPDX
// summary (ReadSPDX), the cosign CLI run offline (RunCosign), a guard against
// a call that hangs (Within), a port nothing listens on (ClosedAddr), and
// files and trees written, listed, read and copied (WriteFile, WriteTree,
// TreeFiles, ReadTree, CopyTree, WriteTar). Its subpackage golden compares
// output with golden files (go test -update rewrites them); cosignlegacy
// checks legacy signatures with cosign's library, for the tests that link it.
//
// The only machine-wide lock is the tools cache's build lock (a .lock file
// next to each tool's binary): two test binaries that need a tool not built
// yet would otherwise run the same `go install` into the same folder at once;
// the second waits and then uses the first one's binary.
//
// A missing prerequisite (the docker-registry package, a tool that fails to build)
// fails the test with what to install: tests never skip their way to green. The
// README's test command (scripts/test) installs the packages.
package testinfra
