package iac

import (
	"testing"
)

func TestLineOf(t *testing.T) {
	docs, err := decodeYAML([]byte("a: 1\n---\nspec:\n  containers:\n    - name: x\n      image: y\n    - name: z\nbase: &b {k: v}\nderived:\n  <<: *b\n  own: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 {
		t.Fatalf("%d documents", len(docs))
	}
	d := docs[1]
	for _, tc := range []struct {
		loc  []any
		want int
	}{
		{nil, 3},
		{[]any{"spec", "containers", 0, "image"}, 6},
		{[]any{"spec", "containers", 1}, 7},
		{[]any{"spec", "containers", 1, "securityContext", "privileged"}, 7}, // nearest ancestor
		{[]any{"spec", "containers", 9}, 4},
		{[]any{"spec", "containers", "0", "name"}, 5},
		{[]any{"spec", "containers", float64(1)}, 7},
	} {
		if got := lineOf(d.Node, tc.loc); got != tc.want {
			t.Errorf("lineOf(%v) = %d, want %d", tc.loc, got, tc.want)
		}
	}
	derived := d.Value.(map[string]any)["derived"].(map[string]any)
	if derived["k"] != "v" || derived["own"] != int64(1) {
		t.Errorf("merge key not applied: %v", derived)
	}
}

// FuzzDecodeYAML: untrusted YAML never panics or blows up, and lines stay
// inside the file.
func FuzzDecodeYAML(f *testing.F) {
	for _, s := range []string{"a: 1\n", "- [a, {b: c}]\n---\nx: &a [*a]\n", "a: &a [x, x]\nb: [*a, *a]\n", "<<: {a: 1}\n", "? [a]\n: b\n", "a: !!binary aGk=\n", "%YAML 1.1\n---\nb: yes\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := decodeYAML(data)
		if err != nil {
			return
		}
		for _, d := range docs {
			_ = lineOf(d.Node, []any{"a", 0, "b", "c"})
		}
	})
}
