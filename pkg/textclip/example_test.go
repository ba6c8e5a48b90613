package textclip_test

import (
	"fmt"

	"github.com/secure-gates/secure-gates/pkg/textclip"
)

// A registry's error message quoted in a reason: one line, at most 16 bytes,
// and the cut never splits the multi-byte "é".
func ExampleLine() {
	msg := "manifest unknown:\n\trépertoire introuvable"
	fmt.Printf("%q\n", textclip.Line(msg, 16))
	fmt.Printf("%q\n", textclip.Line(msg, 23))
	// Output:
	// "manifest unkn…"
	// "manifest unknown: r…"
}

// Clip counts the ellipsis in its budget.
func ExampleClip() {
	fmt.Println(textclip.Clip("sha256:0123456789abcdef", 12))
	fmt.Println(textclip.Clip("short", 12))
	// Output:
	// sha256:01…
	// short
}
