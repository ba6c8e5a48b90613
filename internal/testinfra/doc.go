// Package testinfra starts the real, offline services the tests of secure-gates
// use — an OCI registry on loopback (Debian's docker-registry), pinned outside
// tools built once into a cache folder keyed by version — and cleans them up when
// the test ends. It is for tests only.
//
// A missing prerequisite (the docker-registry package, a tool that fails to build)
// fails the test with what to install: tests never skip their way to green. The
// README's test command (scripts/test) installs the packages.
package testinfra
