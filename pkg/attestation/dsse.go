package attestation

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// PayloadTypeInToto is the DSSE payload type of an in-toto statement, the only
// one [ParseEnvelope] accepts.
const PayloadTypeInToto = "application/vnd.in-toto+json"

// Caps on one signature of an envelope. An RSA-8192 signature is 1 KiB; the caps
// leave room for any real signature while bounding what a hostile envelope holds.
const (
	maxSignatureBytes = 16 << 10
	maxKeyIDBytes     = 1 << 10
)

// Envelope is a DSSE envelope in its JSON form. Payload and every Signature.Sig
// are base64 (standard encoding when this package writes them; standard or
// URL-safe when it reads them, as the DSSE spec requires).
type Envelope struct {
	PayloadType string      `json:"payloadType"`
	Payload     string      `json:"payload"`
	Signatures  []Signature `json:"signatures"`
}

// Signature is one signature of an [Envelope]. KeyID is an unauthenticated hint
// and may be empty; [Verify] never trusts it.
type Signature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

var envelopeFields = []string{"payloadType", "payload", "signatures"}

// ParseEnvelope parses an untrusted DSSE envelope holding an in-toto statement.
// It rejects: a size over what opts allows, anything but one JSON object with
// only payloadType, payload and signatures (no duplicate keys), a payload type
// other than [PayloadTypeInToto], a payload that is empty, not base64 or larger
// than opts.MaxPayloadBytes once decoded, no signatures, more than
// opts.MaxSignatures, and a signature that is empty or not base64. It does not
// verify signatures ([Verify]) nor parse the statement ([OpenEnvelope]).
func ParseEnvelope(data []byte, opts Options) (*Envelope, error) {
	env, err := parseEnvelope(data, opts)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("parsing DSSE envelope: %w", err))
	}
	return env, nil
}

func parseEnvelope(data []byte, opts Options) (*Envelope, error) {
	maxSigs := opts.maxSignatures()
	limit := base64.StdEncoding.EncodedLen(opts.maxPayload()) +
		maxSigs*(base64.StdEncoding.EncodedLen(maxSignatureBytes)+maxKeyIDBytes+64) + 64<<10
	if len(data) > limit {
		return nil, fmt.Errorf("envelope is %d bytes, over the limit of %d", len(data), limit)
	}
	if err := checkJSONObject(data); err != nil {
		return nil, err
	}
	top, err := exactFields(data, envelopeFields)
	if err != nil {
		return nil, err
	}
	env := &Envelope{}
	if err := decodeString(top, "payloadType", &env.PayloadType); err != nil {
		return nil, err
	}
	if env.PayloadType != PayloadTypeInToto {
		return nil, fmt.Errorf("payloadType %q: want %q", truncate(env.PayloadType), PayloadTypeInToto)
	}
	if err := decodeString(top, "payload", &env.Payload); err != nil {
		return nil, err
	}
	if _, err := decodePayload(env.Payload, opts); err != nil {
		return nil, err
	}

	sigs, err := decodeArray(top, "signatures", "an array")
	if err != nil {
		return nil, err
	}
	switch {
	case len(sigs) == 0:
		return nil, errors.New("signatures is empty, want at least one signature")
	case len(sigs) > maxSigs:
		return nil, fmt.Errorf("%d signatures, over the limit of %d", len(sigs), maxSigs)
	}
	for i, rs := range sigs {
		s, err := parseSignature(rs)
		if err != nil {
			return nil, fmt.Errorf("signature %d: %w", i, err)
		}
		env.Signatures = append(env.Signatures, s)
	}
	return env, nil
}

func parseSignature(raw json.RawMessage) (Signature, error) {
	if !isJSONObject(raw) {
		return Signature{}, errors.New("want a JSON object with keyid and sig")
	}
	fields, err := exactFields(raw, []string{"keyid", "sig"})
	if err != nil {
		return Signature{}, err
	}
	var s Signature
	if _, ok := fields["keyid"]; ok {
		if err := decodeString(fields, "keyid", &s.KeyID); err != nil {
			return Signature{}, err
		}
		if len(s.KeyID) > maxKeyIDBytes {
			return Signature{}, fmt.Errorf("keyid is %d bytes, over the limit of %d", len(s.KeyID), maxKeyIDBytes)
		}
	}
	if err := decodeString(fields, "sig", &s.Sig); err != nil {
		return Signature{}, err
	}
	b, err := decodeBase64(s.Sig)
	if err != nil {
		return Signature{}, fmt.Errorf("sig: %w", err)
	}
	switch {
	case len(b) == 0:
		return Signature{}, errors.New("sig is empty")
	case len(b) > maxSignatureBytes:
		return Signature{}, fmt.Errorf("sig is %d bytes, over the limit of %d", len(b), maxSignatureBytes)
	}
	return s, nil
}

// OpenEnvelope returns the statement env carries, parsed with [ParseStatement]
// under opts. It does NOT verify signatures: verify env first (with [Verify], or
// through cosign) and open only what verified.
func OpenEnvelope(env *Envelope, opts Options) (*Statement, error) {
	if env == nil {
		return nil, errkind.Input(errors.New("opening DSSE envelope: envelope is nil"))
	}
	if env.PayloadType != PayloadTypeInToto {
		return nil, errkind.Input(fmt.Errorf("opening DSSE envelope: payloadType %q: want %q", truncate(env.PayloadType), PayloadTypeInToto))
	}
	payload, err := decodePayload(env.Payload, opts)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("opening DSSE envelope: %w", err))
	}
	st, err := ParseStatement(payload, opts)
	if err != nil {
		return nil, fmt.Errorf("opening DSSE envelope: %w", err)
	}
	return st, nil
}

// decodePayload decodes an envelope's payload and applies the size cap before
// decoding.
func decodePayload(s string, opts Options) ([]byte, error) {
	max := opts.maxPayload()
	if base64.StdEncoding.DecodedLen(len(s)) > max+2 {
		return nil, fmt.Errorf("payload is about %d bytes, over the limit of %d", base64.StdEncoding.DecodedLen(len(s)), max)
	}
	b, err := decodeBase64(s)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	switch {
	case len(b) == 0:
		return nil, errors.New("payload is empty")
	case len(b) > max:
		return nil, fmt.Errorf("payload is %d bytes, over the limit of %d", len(b), max)
	}
	return b, nil
}

// decodeBase64 accepts standard or URL-safe base64, padded, with canonical
// padding bits and no line breaks.
func decodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("invalid base64: contains a line break")
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err == nil {
		return b, nil
	}
	if b, uerr := base64.URLEncoding.Strict().DecodeString(s); uerr == nil {
		return b, nil
	}
	return nil, fmt.Errorf("invalid base64: %w", err)
}

// exactFields decodes a JSON object whose keys must all be in allowed.
func exactFields(data []byte, allowed []string) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	var unknown []string
	for k := range obj {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, fmt.Errorf("unknown field %q: want only %s", truncate(unknown[0]), strings.Join(allowed, ", "))
	}
	return obj, nil
}
