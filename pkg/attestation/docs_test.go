package attestation

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const docsDir = "../../docs/attestation"

// Every own predicate type has a schema (on disk and embedded) and a doc page
// that names its exact URI and whose example is the golden example.
func TestOwnTypesHaveSchemaAndDocs(t *testing.T) {
	own := 0
	for _, p := range PredicateTypes() {
		if !p.Own {
			if p.SchemaFile() != "" {
				t.Errorf("%s: standard type with a schema file", p.Name)
			}
			continue
		}
		own++
		t.Run(p.Name, func(t *testing.T) {
			onDisk, err := os.ReadFile(p.SchemaFile())
			if err != nil {
				t.Fatalf("schema file: %v", err)
			}
			embedded, err := schemaFS.ReadFile(p.SchemaFile())
			if err != nil || string(embedded) != string(onDisk) {
				t.Fatalf("schema %s is not embedded as is: %v", p.SchemaFile(), err)
			}
			var schema struct {
				Schema string `json:"$schema"`
				ID     string `json:"$id"`
			}
			if err := json.Unmarshal(onDisk, &schema); err != nil {
				t.Fatal(err)
			}
			if schema.Schema != "https://json-schema.org/draft/2020-12/schema" || schema.ID != p.URI+"/schema.json" {
				t.Errorf("schema header: $schema %q, $id %q", schema.Schema, schema.ID)
			}
			if !strings.Contains(string(onDisk), p.URI) {
				t.Errorf("schema does not name %s", p.URI)
			}

			doc, err := os.ReadFile(filepath.Join(docsDir, p.Name+".md"))
			if err != nil {
				t.Fatalf("doc page: %v", err)
			}
			if !strings.Contains(string(doc), "`"+p.URI+"`") {
				t.Errorf("doc page does not contain the exact URI %s", p.URI)
			}
			example := firstJSONBlock(string(doc))
			if example == "" {
				t.Fatal("doc page has no ```json example")
			}
			if err := ValidatePredicate(p.URI, []byte(example), Options{}); err != nil {
				t.Errorf("doc example is invalid: %v", err)
			}
			var got, want any
			if err := json.Unmarshal([]byte(example), &got); err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal(examplePredicate(t, p.Name), &want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("doc example differs from testdata/predicates/%s.json", p.Name)
			}
		})
	}
	if own != 4 {
		t.Errorf("%d own types, want 4 (code-scan, threat-model, exception, assessment)", own)
	}
}

func TestDocsIndexListsRegistry(t *testing.T) {
	index, err := os.ReadFile(filepath.Join(docsDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range PredicateTypes() {
		if !strings.Contains(string(index), "| `"+p.Name+"` | `"+p.URI+"` |") {
			t.Errorf("docs/attestation/README.md has no table row for %s %s", p.Name, p.URI)
		}
	}
}

func firstJSONBlock(md string) string {
	_, rest, ok := strings.Cut(md, "```json\n")
	if !ok {
		return ""
	}
	block, _, _ := strings.Cut(rest, "```")
	return block
}
