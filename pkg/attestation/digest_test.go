package attestation

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseDigest(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{imageDig, ""},
		{"sha256:" + strings.ToUpper(imageHex), "want lowercase hex"},
		{"sha256:" + imageHex[:63], "want 64 lowercase hex characters, got 63"},
		{"sha256:" + imageHex + "0", "got 65"},
		{imageHex, `want "sha256:"`},
		{"sha512:" + sha512Hex, `want "sha256:"`},
		{"SHA256:" + imageHex, `want "sha256:"`},
		{" " + imageDig, `want "sha256:"`},
		{imageDig + "\n", "got 65"},
		{"ghcr.io/acme/widgets:v1", `want "sha256:"`},
		{"ghcr.io/acme/widgets@" + imageDig, `want "sha256:"`},
		{"latest", `want "sha256:"`},
		{"", `want "sha256:"`},
		{"sha256:" + strings.Repeat("g", 64), "want lowercase hex"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := ParseDigest(tt.in)
			checkErr(t, err, tt.wantErr)
			if err == nil && d.String() != tt.in {
				t.Errorf("String() = %q, want %q", d, tt.in)
			}
			if err != nil && !d.IsZero() {
				t.Errorf("a failed parse returned a non-zero digest %q", d)
			}
		})
	}
}

func TestDigestOf(t *testing.T) {
	// sha256 of the empty string and of "abc" (FIPS 180-2 test vector).
	if got := DigestOf(nil).String(); got != "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("DigestOf(empty) = %s", got)
	}
	if got := DigestOf([]byte("abc")).Hex(); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("DigestOf(abc) = %s", got)
	}
}

func TestDigestJSON(t *testing.T) {
	var v struct {
		D Digest `json:"d"`
	}
	if err := json.Unmarshal([]byte(`{"d":"`+imageDig+`"}`), &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(v)
	if err != nil || string(out) != `{"d":"`+imageDig+`"}` {
		t.Errorf("round trip: %s, %v", out, err)
	}
	if err := json.Unmarshal([]byte(`{"d":"sha256:abc"}`), &v); err == nil {
		t.Error("unmarshalled a short digest")
	}
	v.D = Digest{}
	if _, err := json.Marshal(v); err == nil {
		t.Error("marshalled a zero digest")
	}
}
