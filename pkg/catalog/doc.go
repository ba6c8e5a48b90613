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
// The package reads no environment, prints nothing and never exits.
package catalog
