package gha_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/secure-gates/secure-gates/pkg/gha"
)

// Shared option sets are embedded in a gate's Inputs and decoded as if their
// fields were the outer struct's; tag options mark the values to mask.
type sharedCreds struct {
	User     string `input:"user"`
	Password string `input:"password,secret"`
}

type sharedKey struct {
	Key string `input:"key,pem"`
}

type embeddingInputs struct {
	Image string `input:"image"`
	sharedCreds
	sharedKey
	Lines []string `input:"lines,lines,secret"`
}

func TestDecodeEmbedded(t *testing.T) {
	t.Parallel()
	raw := gha.RawInputs{"image": "app", "user": "bob", "password": "hunter2", "key": "k.pem", "lines": "a,b\nc"}
	var in embeddingInputs
	if err := gha.Decode(raw, &in); err != nil {
		t.Fatal(err)
	}
	if in.Image != "app" || in.User != "bob" || in.Password != "hunter2" || in.Key != "k.pem" || !slices.Equal(in.Lines, []string{"a,b", "c"}) {
		t.Errorf("decoded %+v", in)
	}
	want := []string{"image", "user", "password", "key", "lines"}
	if got := gha.InputNames(embeddingInputs{}); !slices.Equal(got, want) {
		t.Errorf("InputNames = %v, want %v", got, want)
	}
	// An embedded field is held to the same rule: undeclared is an error.
	delete(raw, "password")
	if err := gha.Decode(raw, &in); err == nil || !strings.Contains(err.Error(), `"password", which action.yml does not declare`) {
		t.Errorf("undeclared embedded input: %v", err)
	}
	// Two fields reading one input is a declaration error.
	var dup struct {
		sharedCreds
		Again string `input:"user"`
	}
	if err := gha.Decode(gha.RawInputs{"user": "x", "password": ""}, &dup); err == nil || !strings.Contains(err.Error(), "another field reads too") {
		t.Errorf("duplicate input: %v", err)
	}
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	pem := "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\nBBBB\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"
	tests := []struct {
		name string
		raw  gha.RawInputs
		want []string
	}{
		{"secret masked, path key not", gha.RawInputs{"password": "hunter2", "key": "cosign.key"}, []string{"hunter2"}},
		{"pem key masked line by line, armour kept", gha.RawInputs{"key": pem}, []string{"AAAA", "BBBB"}},
		{"KMS URI not masked", gha.RawInputs{"key": "awskms:///alias/x"}, nil},
		{"empty and blank not masked", gha.RawInputs{"password": "  ", "lines": ""}, nil},
		{"secret list masked whole", gha.RawInputs{"lines": "s1\ns2"}, []string{"s1\ns2"}},
	}
	for _, tt := range tests {
		if got := gha.Secrets(tt.raw, &embeddingInputs{}); !slices.Equal(got, tt.want) {
			t.Errorf("%s: Secrets = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// A default that is an expression (token: ${{ github.token }}) reaches a local
// run unevaluated: it is no value. A value that is not such a default's is kept.
func TestDropUnevaluated(t *testing.T) {
	t.Parallel()
	a, err := gha.ParseAction([]byte("name: x\ninputs:\n  token:\n    default: ${{ github.token }}\n  body:\n    default: ''\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ token, body, wantToken, wantBody string }{
		{"${{ github.token }}", "${{ x }}", "", "${{ x }}"},
		{" ${{ github.token }}", "", "", ""},
		{"ghs_real", "b", "ghs_real", "b"},
	} {
		raw := gha.RawInputs{"token": tt.token, "body": tt.body}
		gha.DropUnevaluated(a, raw)
		if raw["token"] != tt.wantToken || raw["body"] != tt.wantBody {
			t.Errorf("DropUnevaluated(%q, %q) = %v", tt.token, tt.body, raw)
		}
	}
}

type innerOutputs struct {
	Digest string `output:"digest"`
}

type testOutputs struct {
	Result string `output:"result"`
	innerOutputs
	Count    int      `output:"count"`
	OK       bool     `output:"ok"`
	List     []string `output:"list,json"`
	Optional string   `output:"optional,omitempty"`
	note     string
}

func TestOutputs(t *testing.T) {
	t.Parallel()
	got, err := gha.Outputs(testOutputs{Result: "pass", innerOutputs: innerOutputs{"sha256:a"}, Count: 3, note: "x"})
	if err != nil {
		t.Fatal(err)
	}
	want := []gha.KeyValue{{"result", "pass"}, {"digest", "sha256:a"}, {"count", "3"}, {"ok", "false"}, {"list", "[]"}}
	if !slices.Equal(got, want) {
		t.Errorf("Outputs = %v, want %v", got, want)
	}
	got, _ = gha.Outputs(&testOutputs{List: []string{"a"}, Optional: "o"})
	if got[4].Value != `["a"]` || len(got) != 6 || got[5] != (gha.KeyValue{Name: "optional", Value: "o"}) {
		t.Errorf("Outputs = %v", got)
	}
	var bad struct {
		M map[string]int `output:"m"`
	}
	if _, err := gha.Outputs(bad); err == nil || !strings.Contains(err.Error(), "use the json option") {
		t.Errorf("unsupported type: %v", err)
	}
}

// An output written that action.yml does not declare, or declared and never
// written, is reported by name, both ways.
func TestCheckOutputs(t *testing.T) {
	t.Parallel()
	a, err := gha.ParseAction([]byte("name: x\noutputs:\n  result: {description: r}\n  digest: {description: d}\n  count: {description: c}\n  ok: {description: o}\n  list: {description: l}\n  optional: {description: o}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := gha.CheckOutputs(a, testOutputs{}); err != nil {
		t.Errorf("equal sets: %v", err)
	}
	a.Outputs = append(a.Outputs[:1], a.Outputs[2:]...) // drop digest
	a.Outputs = append(a.Outputs, gha.OutputSpec{Name: "never"})
	err = gha.CheckOutputs(a, testOutputs{})
	for _, want := range []string{`output "digest" is written but action.yml does not declare it`, `action.yml declares output "never", which nothing writes`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckOutputs = %v, want %q", err, want)
		}
	}
}
