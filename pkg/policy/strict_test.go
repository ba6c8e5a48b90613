package policy

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// TestStrictNamesFieldAndLine pins where checkStrict reports each refused
// construct: the field (a merge key by the mapping it stands in, an alias key
// by its own path) and the line, in document order, with a key's value still
// checked after a refused alias key.
func TestStrictNamesFieldAndLine(t *testing.T) {
	t.Parallel()
	doc := attackHead +
		"x: &a {issuer: " + ghIssuer + "}\n" + // line 3
		"<<: {mode: audit}\n" + // line 4
		"identities:\n" +
		"  - <<: *a\n" + // line 6
		"    subject: !!str s\n" + // line 7
		"require:\n" +
		"  - *a : !!str v\n" // line 9
	_, err := Parse([]byte(doc), Options{})
	var got []string
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("Parse: %v, want the strict errors", err)
	}
	for _, e := range joined.Unwrap() {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("%v is not a *FieldError", e)
		}
		got = append(got, fmt.Sprintf("%s@%d", fe.Field, fe.Line))
	}
	want := []string{"x@3", "the document@4", "identities[0]@6", "identities[0].subject@7", "require[0].a@9", "require[0].a@9"}
	if !slices.Equal(got, want) {
		t.Errorf("refused constructs at %v, want %v (error: %v)", got, want, err)
	}
}
