package markdown_test

import (
	"fmt"

	"github.com/secure-gates/secure-gates/pkg/markdown"
)

// Values from a scanned repository cannot break the table, start markup or
// inject HTML; a newline in a cell becomes <br>, a control character a space.
func ExampleBuilder() {
	var b markdown.Builder
	b.Heading(3, "Findings")
	b.Table([]string{"file", "note"}, [][]string{{"a|b.go", "<script>x</script>\nsecond\x1b[31m line"}})
	fmt.Print(b.String())
	// Output:
	// ### Findings
	//
	// | file | note |
	// | --- | --- |
	// | a\|b.go | &lt;script&gt;x&lt;/script&gt;<br>second \[31m line |
}
