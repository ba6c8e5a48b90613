package attestation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// OpenVEX is the part of an OpenVEX v0.2.0 document ([PredicateOpenVEX]) the
// deploy gate reads. Other members are allowed (the OpenVEX specification
// defines more) and ignored.
type OpenVEX struct {
	Context   string    `json:"@context"`
	ID        string    `json:"@id"`
	Author    string    `json:"author"`
	Timestamp time.Time `json:"timestamp"`
	// Statements are the document's statements; at least one.
	Statements []VEXStatement `json:"statements"`
}

// VEXStatement is one OpenVEX statement.
type VEXStatement struct {
	Vulnerability   VEXVulnerability `json:"vulnerability"`
	Products        []VEXProduct     `json:"products"`
	Status          string           `json:"status"`
	Justification   string           `json:"justification,omitempty"`
	ImpactStatement string           `json:"impact_statement,omitempty"`
	// Timestamp and LastUpdated are the statement's own times, when it has
	// them (else the document's timestamp applies).
	Timestamp   *time.Time `json:"timestamp,omitempty"`
	LastUpdated *time.Time `json:"last_updated,omitempty"`
}

// VEXVulnerability names the vulnerability of a statement.
type VEXVulnerability struct {
	ID      string   `json:"@id,omitempty"`
	Name    string   `json:"name"`
	Aliases []string `json:"aliases,omitempty"`
}

// VEXProduct is a product (or a subcomponent) of a statement: an @id (a purl,
// an image reference) and optional identifiers.
type VEXProduct struct {
	ID            string            `json:"@id"`
	Identifiers   map[string]string `json:"identifiers,omitempty"`
	Subcomponents []VEXProduct      `json:"subcomponents,omitempty"`
}

// The OpenVEX statuses.
const (
	VEXNotAffected        = "not_affected"
	VEXAffected           = "affected"
	VEXFixed              = "fixed"
	VEXUnderInvestigation = "under_investigation"
)

// Bounds of a VEX document the gates read.
const (
	MaxVEXStatements = 10_000
	MaxVEXProducts   = 1_000
)

// ParseOpenVEX reads and checks an OpenVEX v0.2.0 document: @context an
// OpenVEX namespace, an author, an RFC 3339 timestamp, 1 to MaxVEXStatements
// statements, each naming a vulnerability, a known status and 1 to
// MaxVEXProducts products with an @id (or a purl identifier).
func ParseOpenVEX(data []byte) (*OpenVEX, error) {
	var raw struct {
		Timestamp string `json:"timestamp"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("not an OpenVEX document: %w", err)
	}
	if _, err := time.Parse(time.RFC3339, raw.Timestamp); err != nil {
		return nil, fmt.Errorf("timestamp %q: want an RFC 3339 time", truncate(raw.Timestamp))
	}
	var d OpenVEX
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&d); err != nil {
		return nil, fmt.Errorf("not an OpenVEX v0.2.0 document (statements with vulnerability objects and product objects): %w", err)
	}
	if !strings.HasPrefix(d.Context, "https://openvex.dev/ns") {
		return nil, fmt.Errorf("@context %q: want https://openvex.dev/ns/v0.2.0", truncate(d.Context))
	}
	if strings.TrimSpace(d.Author) == "" {
		return nil, errors.New("author is missing")
	}
	if len(d.Statements) == 0 || len(d.Statements) > MaxVEXStatements {
		return nil, fmt.Errorf("%d statements: want 1 to %d", len(d.Statements), MaxVEXStatements)
	}
	for i, s := range d.Statements {
		if strings.TrimSpace(s.Vulnerability.Name) == "" {
			return nil, fmt.Errorf("statements[%d].vulnerability.name is missing", i)
		}
		switch s.Status {
		case VEXNotAffected, VEXAffected, VEXFixed, VEXUnderInvestigation:
		default:
			return nil, fmt.Errorf("statements[%d].status %q: want not_affected, affected, fixed or under_investigation", i, truncate(s.Status))
		}
		if len(s.Products) == 0 || len(s.Products) > MaxVEXProducts {
			return nil, fmt.Errorf("statements[%d]: %d products, want 1 to %d", i, len(s.Products), MaxVEXProducts)
		}
		for j, p := range s.Products {
			if p.ID == "" && p.Identifiers["purl"] == "" {
				return nil, fmt.Errorf("statements[%d].products[%d]: @id is missing", i, j)
			}
			if len(p.Subcomponents) > MaxVEXProducts {
				return nil, fmt.Errorf("statements[%d].products[%d]: more than %d subcomponents", i, j, MaxVEXProducts)
			}
		}
	}
	return &d, nil
}
