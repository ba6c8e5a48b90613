// Package signing signs container images and attaches in-toto attestations to them
// with cosign v2.6.5 and sigstore-go as libraries: no cosign binary is run.
//
// # API
//
//	ref, _ := oci.Resolve(ctx, "registry/app:v1", oci.Options{}) // once
//	res, err := signing.Sign(ctx, ref, signing.Options{Key: pemKey, KeyPassword: pw, Format: signing.FormatBoth})
//	att, err := signing.Attest(ctx, ref, []signing.Predicate{{Type: "cyclonedx", Data: sbom}}, opts)
//
// [ValidatePredicates] checks predicates the way Attest does before anything is
// signed; [Statement] returns the in-toto statement Attest signs for one. The
// results name the signer ([Identity]), each signature or attestation and where
// it went, and transparency-log entries; a push that failed half-way is a
// [*PartialError] listing exactly what landed. SLSA provenance v1 of a GitHub
// Actions job is built by the provenance sub-package.
//
// Everything works on an [oci.Ref], an image named by digest: a tag is resolved
// once by the caller ([oci.Resolve]) and never used again, so a tag moved while a
// gate runs cannot change what is signed.
//
// # Signers
//
// Options.Key selects the signer: a PEM private key (cosign's encrypted
// "ENCRYPTED SIGSTORE PRIVATE KEY", or an unencrypted or password-protected
// PKCS #8 / SEC 1 / PKCS #1 key; ECDSA or RSA), given as content or as a path,
// or a KMS URI (awskms://, gcpkms://, azurekms://, hashivault://, openbao://)
// handled by sigstore's KMS providers, which are linked in: the KMS signs each
// digest. [LoadKey] starts loading a key in the background (a cosign key's scrypt
// KDF, or the KMS round trip for the public key) so a caller can resolve the
// image meanwhile, and hands it over as Options.SigningKey. An empty Key means
// keyless: Options.IDToken is exchanged at Fulcio for a short-lived certificate
// over an ephemeral key, once per call, and that certificate signs everything the
// call produces.
//
// A KMS URI is checked against its provider's format before anything is
// contacted (an input error). The providers take their credentials and settings
// the way cosign's do, from their SDKs' usual sources (AWS_* variables and web
// identity, GOOGLE_APPLICATION_CREDENTIALS, AZURE_*, VAULT_ADDR/VAULT_TOKEN,
// config files, metadata services); that is the one place this package's
// behaviour depends on the environment. A KMS refusing the key (4xx) is an input
// error, one that does not answer or fails (5xx) an infrastructure error.
//
// # Formats
//
// FormatLegacy writes what cosign v2 writes by default and what Kyverno's
// ClusterPolicy reads: a signature layer under the sha256-<hex>.sig tag (the
// simple-signing payload, the certificate and an RFC 3161 timestamp in its
// annotations) and DSSE envelopes under sha256-<hex>.att. FormatBundle writes
// Sigstore bundles (v0.3) as OCI referrers of the image, cosign v3's default;
// transparency-log entries (Rekor v1 or v2) live there. FormatBoth writes both.
// The legacy format carries no transparency-log entry in this package, so
// Options.Tlog with FormatLegacy alone is refused rather than silently dropped.
//
// # Attestations
//
// [Attest] takes several predicates at once. Every predicate is validated against
// its type with [attestation.ValidatePredicate] and turned into a statement before
// anything is signed, and everything is signed before anything is pushed: a bad
// predicate pushes nothing. The legacy attestations of one call are written in a
// single manifest; bundles are one referrer each. If a push fails half-way, the
// returned [*PartialError] lists exactly what landed and what did not.
//
// # Gate inputs
//
// [Inputs] are the signing identity, transparency and format inputs the sign and
// attest actions share (gha.Decode tags, embedded in each gate's inputs);
// [Prepare] turns them and a [Target] into the one resolved reference and the
// Options: the key started loading, configs read within [MaxConfigBytes], the
// OIDC token asked for (through the caller's function) only once the image
// resolved. [IdentityRows] and [TlogText] render a signer and log entries for a
// summary.
//
// # Errors
//
// Errors are classified with pkg/errkind: bad keys, predicates and options are
// input errors (exit 2); registry, KMS, Fulcio, timestamp-authority and Rekor
// failures after their bounded retries are infrastructure errors (exit 3) naming
// the service.
//
// The package reads no environment variables of its own (the KMS SDKs do, see
// above), prints nothing and never exits.
package signing
