package testinfra

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var schemas struct {
	sync.Mutex
	compiled map[string]*jsonschema.Schema
}

// moduleDir locates a module of the build list with `go list -m`.
func moduleDir(t testing.TB, mod string) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", mod)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("locating module %s with go list -m (run go mod download): %v", mod, err)
	}
	return strings.TrimSpace(string(out))
}

func loadJSON(t testing.TB, path string) any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("reading schema: %v", err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("parsing schema %s: %v", path, err)
	}
	return doc
}

func schema(t testing.TB, key string) *jsonschema.Schema {
	t.Helper()
	schemas.Lock()
	defer schemas.Unlock()
	if s, ok := schemas.compiled[key]; ok {
		return s
	}
	c := jsonschema.NewCompiler()
	var url string
	switch key {
	case "cyclonedx-1.6":
		dir := filepath.Join(moduleDir(t, "github.com/CycloneDX/cyclonedx-go"), "schema")
		for file, id := range map[string]string{
			"bom-1.6.schema.json":   "http://cyclonedx.org/schema/bom-1.6.schema.json",
			"spdx.schema.json":      "http://cyclonedx.org/schema/spdx.schema.json",
			"jsf-0.82.schemax.json": "http://cyclonedx.org/schema/jsf-0.82.schema.json",
		} {
			if err := c.AddResource(id, loadJSON(t, filepath.Join(dir, file))); err != nil {
				t.Fatal(err)
			}
		}
		url = "http://cyclonedx.org/schema/bom-1.6.schema.json"
	case "spdx-2.3":
		p := filepath.Join(moduleDir(t, "github.com/anchore/syft"), "schema", "spdx-json", "spdx-schema-2.3.json")
		url = "http://spdx.org/rdf/terms/2.3"
		if err := c.AddResource(url, loadJSON(t, p)); err != nil {
			t.Fatal(err)
		}
	case "sarif-2.1.0":
		url = filepath.Join(moduleDir(t, "github.com/anchore/grype"), "grype", "presenter", "sarif", "testdata", "sarif-schema-2.1.0.json")
		if err := c.AddResource(url, loadJSON(t, url)); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("unknown schema %s", key)
	}
	c.AssertFormat()
	s, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compiling the %s schema: %v", key, err)
	}
	if schemas.compiled == nil {
		schemas.compiled = map[string]*jsonschema.Schema{}
	}
	schemas.compiled[key] = s
	return s
}

// ValidateCycloneDX16 checks a CycloneDX JSON document against the official
// CycloneDX 1.6 JSON schema shipped in cyclonedx-go's module (schema/).
func ValidateCycloneDX16(t testing.TB, doc []byte) error {
	t.Helper()
	return validate(t, "cyclonedx-1.6", doc)
}

// ValidateSPDX23 checks an SPDX JSON document against the official SPDX 2.3 JSON
// schema shipped in syft's module (schema/spdx-json/spdx-schema-2.3.json).
func ValidateSPDX23(t testing.TB, doc []byte) error {
	t.Helper()
	return validate(t, "spdx-2.3", doc)
}

// ValidateSARIF21 checks a SARIF log against the official SARIF 2.1.0 JSON
// schema shipped in grype's module (grype/presenter/sarif/testdata).
func ValidateSARIF21(t testing.TB, doc []byte) error {
	t.Helper()
	return validate(t, "sarif-2.1.0", doc)
}

func validate(t testing.TB, key string, doc []byte) error {
	t.Helper()
	s := schema(t, key)
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	if err := s.Validate(v); err != nil {
		return err
	}
	// a JSON document, not several
	var probe any
	dec := json.NewDecoder(bytes.NewReader(doc))
	if err := dec.Decode(&probe); err != nil {
		return err
	}
	return nil
}
