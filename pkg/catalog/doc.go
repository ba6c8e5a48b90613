// Package catalog turns an image or a directory into one syft SBOM — the catalog
// every secure-gates document (CycloneDX, SPDX, syft JSON), vulnerability match and
// license check is made from.
//
// Sources: a registry reference (a tag is resolved to its digest once, through
// pkg/oci, and only repo@sha256:… is used afterwards), an OCI layout directory
// (oci-dir:PATH), a docker-archive tarball (docker-archive:PATH), or a plain
// directory.
//
// Image content is untrusted. Cataloguing is bounded in total bytes (uncompressed
// layer streams and the sizes their tar headers declare, so a huge sparse file is
// refused from its header alone), in file count and in time; crossing a bound
// fails with an infrastructure error (errkind.Infra) and no SBOM at all, never a
// partial one. Symlinks are never followed out of the scanned root: image layers
// are read as tar streams into a virtual file tree, never extracted, and a
// directory is catalogued with its own root as the base symlinks resolve against.
// All temporary content lives in one private directory that is removed before the
// call returns, whatever happens.
//
// Decompressing the layers is the largest single cost of cataloguing an image. A
// layer is decompressed (with klauspost/compress) ahead of everything else, in
// 1 MiB chunks, while other goroutines count the bytes, write them to
// stereoscope's layer file and parse the tar headers.
//
// syft's license scanner costs about two seconds to build; it is built once per
// process (in the background, while the first image is read) and shared by every
// later call. Only the package catalogers an SBOM needs run: file metadata and
// digest catalogers are off.
//
// # Reusing a directory's catalog
//
// With Options.Cache, Directory reuses the catalog of an earlier run when none
// of the tree's changes since could change it. The walk that counts the tree
// against the limits also records every entry (kind, mode, owner, a symlink's
// target) and the SHA-256 of every regular file. A run that catalogues wraps
// the directory's file resolver and records what syft's catalogers asked it:
// the glob and path queries, the MIME types queried, and the paths of every
// location handed out (AllLocations, which only the nix store cataloger calls,
// keeps the nix store's paths: TestAllLocationsCallers guards this). The
// cache then holds the SBOM (syft JSON, keyed by its own SHA-256, checked on
// read), the SBOM of that exact tree, and the tree with the reads, keyed by
// the syft and stereoscope versions, syft's configuration, the directory and
// the SBOM's name.
//
// A later run reuses the SBOM when the tree is the same, or when no changed
// entry (added, removed, or of another kind, mode, owner or content) can
// change a query's answer: no changed symlink; no changed path — nor any other
// name a symlink gives it — that was read, that a glob query matches
// ("**/.github/workflows/*.yml", "**/lib/dpkg/status.d/*", matched with
// doublestar as syft's resolver matches them), or whose base name a path
// query names ("go.sum"); no new or modified file whose MIME type
// (stereoscope's function, which syft's index uses) was queried. Editing, adding, renaming or deleting
// a source file reuses the catalog; editing a lockfile, adding a manifest
// anywhere, dropping a binary in, or turning a file into an executable
// catalogues the tree again. Anything in doubt (a symlink loop, a file that
// changes while it is hashed, an entry that does not decode) catalogues again.
//
// Both runs hand back the SBOM read from its syft JSON (the cold run encodes
// and decodes its own), so a warm and a cold run give the scanners the same
// catalog, byte for byte. With Options.LazySBOM a reused SBOM is not even
// decoded (its package count is cached beside it): Result.Digest, the SHA-256
// of its syft JSON, identifies it, so that a caller can reuse what it derived
// from the same SBOM before (pkg/scan's license findings, pkg/vulndb's
// matches), and Result.Load decodes it only when something has to be derived
// again.
//
// The package reads no environment, prints nothing and never exits.
package catalog
