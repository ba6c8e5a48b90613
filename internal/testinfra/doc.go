// Package testinfra starts the real, offline services the tests of secure-gates
// use — an OCI registry on loopback (go-containerregistry's, in the test's own
// process; Debian's docker-registry for the one test about a real registry), a
// local keyless Sigstore stack, pinned outside tools built once into a cache
// folder keyed by version — and cleans them up when the test ends. Every
// service listens on a port of its own, so tests that start them can run in
// parallel. It is for tests only.
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
