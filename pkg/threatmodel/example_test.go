package threatmodel_test

import (
	"fmt"

	"github.com/secure-gates/secure-gates/pkg/threatmodel"
)

func ExampleCheck() {
	body := `## What are we working on?
A password reset endpoint that emails a one-time link.

## What can go wrong?
<!-- answer here -->

**What are we going to do about it?** TBD

1. Did we do a good job?
   Yes, it was reviewed.
`
	res, err := threatmodel.Check(body, threatmodel.Options{})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println("pass:", res.Pass)
	for _, q := range res.Questions {
		fmt.Printf("line %d %q: %s", q.Line, q.Question, q.Status)
		if q.Reason != "" {
			fmt.Printf(" (%s)", q.Reason)
		}
		fmt.Println()
	}
	fmt.Println("missing:", len(res.Missing()))
	// Output:
	// pass: false
	// line 1 "What are we working on?": answered
	// line 4 "What can go wrong?": placeholder (the answer is only the template's hidden placeholder (an HTML comment))
	// line 7 "What are we going to do about it?": non-answer (the answer is a non-answer such as N/A, TBD, none or see above)
	// line 9 "Did we do a good job?": too-short (answer has 3 distinct meaningful words, need 5)
	// missing: 3
}
