// Package attestation is the common attestation format of every secure-gates gate:
// in-toto Statements, DSSE envelopes, the predicate-type registry, and the Go types
// and validation of the predicates the project writes and reads.
//
// # Statements
//
// A Statement binds a predicate to one or more subjects. Every subject carries a
// sha256 digest: in this project a subject is an image digest, never a tag.
// [NewStatement] builds a Statement with type https://in-toto.io/Statement/v1;
// [ParseStatement] reads one from untrusted bytes and rejects anything outside the
// rules below. Both https://in-toto.io/Statement/v1 and the legacy
// https://in-toto.io/Statement/v0.1 are accepted by the parser, because cosign
// v2.6.5 `attest` (legacy and bundle formats alike) still writes v0.1 statements;
// every other `_type` is rejected.
//
// Parsing rules (each a distinct error): the payload is at most
// [Options.MaxPayloadBytes] (16 MiB by default); it is a single JSON object with no
// duplicate keys at any depth; its top level has only the fields `_type`,
// `subject`, `predicateType` and `predicate`; `subject` holds 1 to [MaxSubjects]
// entries, each with 1 to [MaxDigestsPerSubject] digests, one of them sha256;
// sha256 and sha512 digests (and the other well-known hex algorithms) are
// lowercase hex of the algorithm's length; `predicateType` is an absolute URI;
// `predicate`, when present, is a JSON object. The subject caps are sigstore-go's.
//
// # DSSE
//
// [ParseEnvelope] reads an untrusted DSSE envelope and [OpenEnvelope] returns
// its Statement. Opening does not verify: cosign verifies (the product never
// signs or verifies DSSE itself); tests sign and verify with the local keys of
// pkg/attestation/attestationtest.
//
// # Predicate types
//
// [PredicateTypes] lists the registry; [ResolveType] maps a short name such as
// "vuln" to its URI. The URIs are a public contract. Note that the short names are
// this project's: cosign's own `--type slsaprovenance` means SLSA v0.2, so code
// that drives cosign passes the full URI, never a short name.
//
// [ValidatePredicate] checks a predicate against its type: the project's own types
// (code-scan, threat-model, exception, assessment, dast) against their embedded JSON schemas
// (draft 2020-12, unknown fields rejected), the standard types against the
// handful of fields the gates rely on (an OpenVEX document: context, author,
// timestamp and well-formed statements, by [ParseOpenVEX]).
//
// The package reads no environment, prints nothing and needs no network.
package attestation
