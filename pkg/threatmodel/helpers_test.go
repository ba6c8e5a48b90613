package threatmodel_test

import (
	"strings"

	"github.com/secure-gates/secure-gates/pkg/threatmodel"
)

// headed is a PR body with each default question as a "## " heading over its
// answer, answers[i] under question i.
func headed(answers ...string) string {
	var b strings.Builder
	for i, q := range threatmodel.DefaultQuestions() {
		b.WriteString("## " + q + "\n" + answers[i] + "\n\n")
	}
	return b.String()
}
