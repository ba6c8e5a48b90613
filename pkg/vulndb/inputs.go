package vulndb

import (
	"os"
	"path/filepath"
	"time"
)

// Inputs are the vulnerability DB inputs the scan and sbom actions share; a gate
// embeds them in its Inputs (the tags are the action.yml names, read by
// gha.Decode).
type Inputs struct {
	DBDir           string        `input:"db-dir"`
	DBCache         string        `input:"db-cache"`
	MaxDBAge        time.Duration `input:"max-db-age"`
	OnScannerOutage string        `input:"on-scanner-outage"`
}

// Validate checks on-scanner-outage.
func (in Inputs) Validate() error {
	_, err := ParseOutagePolicy(in.OnScannerOutage)
	return err
}

// Policy is the parsed on-scanner-outage (OutageFail for a value Validate
// refuses).
func (in Inputs) Policy() OutagePolicy {
	p, err := ParseOutagePolicy(in.OnScannerOutage)
	if err != nil {
		return OutageFail
	}
	return p
}

// CacheDir is where grype's DB is downloaded when neither db-dir nor db-cache is
// given: runnerTemp (the runner's temporary folder; "" off a runner), else the
// user's cache folder, else the system's temporary folder. scan and sbom share
// it, so both gates find the same download. A dbCache given wins.
func CacheDir(dbCache, runnerTemp string) string {
	if dbCache != "" {
		return dbCache
	}
	if runnerTemp != "" {
		return filepath.Join(runnerTemp, "secure-gates-grype-db")
	}
	if c, err := os.UserCacheDir(); err == nil {
		return filepath.Join(c, "secure-gates", "grype-db")
	}
	return filepath.Join(os.TempDir(), "secure-gates-grype-db")
}
