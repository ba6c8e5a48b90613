package sarif_test

import (
	"fmt"
	"log"
	"os"

	"github.com/secure-gates/secure-gates/pkg/finding"
	"github.com/secure-gates/secure-gates/pkg/sarif"
)

// A scanner fills the neutral model; the writer does the SARIF.
func ExampleWrite() {
	sev := finding.High // the one severity type, and its SARIF level
	run := sarif.Run{
		Tool:     sarif.Tool{Name: "grype", Version: "0.120.1"},
		Category: "deps",
		Rules: []sarif.Rule{{
			ID:               "CVE-2023-44487-golang.org/x/net",
			ShortDescription: "golang.org/x/net 0.14.0: HTTP/2 rapid reset",
			HelpURI:          "https://nvd.nist.gov/vuln/detail/CVE-2023-44487",
			SecuritySeverity: 7.5,
		}},
		Results: []sarif.Result{{
			RuleID:    "CVE-2023-44487-golang.org/x/net",
			Level:     sarif.Level(sev.SARIFLevel()),
			Message:   "golang.org/x/net 0.14.0 is vulnerable; fixed in 0.17.0",
			Locations: []sarif.Location{{Path: "/repo/go.mod", StartLine: 7}},
			PartialFingerprints: map[string]string{
				sarif.FingerprintKey: sarif.Fingerprint("CVE-2023-44487", "go.mod", "golang.org/x/net@0.14.0"),
			},
		}},
	}
	if err := sarif.Write(os.Stdout, []sarif.Run{run}, sarif.Options{Root: "/repo"}); err != nil {
		log.Fatal(err)
	}
	// Output:
	// {
	//   "version": "2.1.0",
	//   "$schema": "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/main/sarif-2.1/schema/sarif-schema-2.1.0.json",
	//   "runs": [
	//     {
	//       "tool": {
	//         "driver": {
	//           "name": "grype",
	//           "rules": [
	//             {
	//               "id": "CVE-2023-44487-golang.org/x/net",
	//               "shortDescription": {
	//                 "text": "golang.org/x/net 0.14.0: HTTP/2 rapid reset"
	//               },
	//               "helpUri": "https://nvd.nist.gov/vuln/detail/CVE-2023-44487",
	//               "properties": {
	//                 "security-severity": "7.5",
	//                 "tags": [
	//                   "security"
	//                 ]
	//               }
	//             }
	//           ],
	//           "semanticVersion": "0.120.1",
	//           "version": "0.120.1"
	//         }
	//       },
	//       "results": [
	//         {
	//           "ruleId": "CVE-2023-44487-golang.org/x/net",
	//           "ruleIndex": 0,
	//           "level": "error",
	//           "message": {
	//             "text": "golang.org/x/net 0.14.0 is vulnerable; fixed in 0.17.0"
	//           },
	//           "locations": [
	//             {
	//               "physicalLocation": {
	//                 "artifactLocation": {
	//                   "uri": "go.mod"
	//                 },
	//                 "region": {
	//                   "startLine": 7,
	//                   "endLine": 7
	//                 }
	//               }
	//             }
	//           ],
	//           "partialFingerprints": {
	//             "primaryLocationLineHash": "a4a78fb13fb172b7347251684e0296f4"
	//           }
	//         }
	//       ],
	//       "automationDetails": {
	//         "id": "deps/"
	//       }
	//     }
	//   ]
	// }
}

// Pack keeps every document within GitHub's limits; here a tiny result limit
// shows how a large run is split into categories.
func ExamplePack() {
	run := sarif.Run{Tool: sarif.Tool{Name: "gitleaks"}, Category: "secrets", Rules: []sarif.Rule{{ID: "generic-api-key"}}}
	for i := range 5 {
		run.Results = append(run.Results, sarif.Result{
			RuleID:    "generic-api-key",
			Message:   "API key found",
			Locations: []sarif.Location{{Path: fmt.Sprintf("config/%d.yaml", i), StartLine: 1}},
		})
	}
	docs, err := sarif.Pack([]sarif.Run{run}, sarif.Options{Limits: sarif.Limits{MaxResultsPerRun: 2}})
	if err != nil {
		log.Fatal(err)
	}
	for i, d := range docs {
		for _, r := range d.Runs {
			fmt.Printf("document %d: %s %q with %d results\n", i, r.Tool, r.Category, r.Results)
		}
	}
	// Output:
	// document 0: gitleaks "secrets" with 2 results
	// document 0: gitleaks "secrets/part-2" with 2 results
	// document 0: gitleaks "secrets/part-3" with 1 results
}
