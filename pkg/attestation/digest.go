package attestation

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/secure-gates/secure-gates/pkg/textclip"
)

// Digest is a sha256 content digest, written "sha256:" followed by 64 lowercase
// hex characters. It is what every gate uses to name an image: a tag is never a
// digest. The zero Digest is empty; [ParseDigest] and [DigestOf] return valid ones.
//
// Digest marshals to and from JSON as its string form, strictly.
type Digest struct {
	hex string
}

// digestAlgorithm is the only algorithm a Digest carries and the one every
// statement subject must have.
const digestAlgorithm = "sha256"

// ParseDigest parses s as "sha256:<64 lowercase hex>". Anything else — a tag, an
// image reference, upper-case hex, another algorithm, surrounding space — is an
// error.
func ParseDigest(s string) (Digest, error) {
	alg, h, ok := strings.Cut(s, ":")
	if !ok || alg != digestAlgorithm {
		return Digest{}, fmt.Errorf("parsing digest %q: want \"sha256:\" followed by 64 lowercase hex characters", truncate(s))
	}
	if err := checkHex(h, 64); err != nil {
		return Digest{}, fmt.Errorf("parsing digest %q: %w", truncate(s), err)
	}
	return Digest{hex: h}, nil
}

// DigestOf returns the sha256 digest of data.
func DigestOf(data []byte) Digest {
	sum := sha256.Sum256(data)
	return Digest{hex: hex.EncodeToString(sum[:])}
}

// Hex returns the 64 hex characters of d, without the algorithm.
func (d Digest) Hex() string { return d.hex }

// IsZero reports whether d is the zero Digest.
func (d Digest) IsZero() bool { return d.hex == "" }

// String returns "sha256:<hex>", or "" for the zero Digest.
func (d Digest) String() string {
	if d.hex == "" {
		return ""
	}
	return digestAlgorithm + ":" + d.hex
}

// MarshalText implements encoding.TextMarshaler. The zero Digest is an error: a
// digest field that was never set must not be written as "".
func (d Digest) MarshalText() ([]byte, error) {
	if d.hex == "" {
		return nil, fmt.Errorf("marshalling digest: digest is empty")
	}
	return []byte(d.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with the rules of
// [ParseDigest].
func (d *Digest) UnmarshalText(text []byte) error {
	p, err := ParseDigest(string(text))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// checkHex reports whether s is exactly n lowercase hex characters.
func checkHex(s string, n int) error {
	if len(s) != n {
		return fmt.Errorf("want %d lowercase hex characters, got %d characters", n, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return fmt.Errorf("want lowercase hex, got %q at offset %d", c, i)
		}
	}
	return nil
}

// truncate shortens untrusted strings quoted in error messages.
func truncate(s string) string { return textclip.Clip(s, 80) }
