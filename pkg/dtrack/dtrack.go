// Package dtrack hands a CycloneDX SBOM to an existing OWASP Dependency-Track
// server, which then watches the image's components for new vulnerabilities
// (gate 5's continuous CVE watch).
//
// Upload sends PUT /api/v1/bom with the X-Api-Key header and a JSON body naming
// the project (projectName, projectVersion, autoCreate) and carrying the BOM
// base64-encoded, and returns the processing token. Wait polls
// GET /api/v1/event/token/{token} until the server reports the BOM processed,
// bounded by Options.Timeout.
//
// The API key is sent only over HTTPS, or plain HTTP to a loopback address.
// Errors are classified with pkg/errkind: a refused key (401/403), an unknown
// project (404) or a bad request (400) are input errors; an unreachable server, a
// 5xx or a processing timeout are infrastructure errors. The package reads no
// environment, prints nothing and never exits.
package dtrack

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/secure-gates/secure-gates/pkg/errkind"
	"github.com/secure-gates/secure-gates/pkg/netretry"
)

// Defaults of Options' zero fields.
const (
	DefaultPollInterval = 2 * time.Second
	DefaultTimeout      = 5 * time.Minute
	// MaxBOMBytes bounds the BOM uploaded (before base64).
	MaxBOMBytes = 64 << 20
	// maxResponseBytes bounds what is read of a server response.
	maxResponseBytes = 1 << 20
)

// Options say which server to talk to and how long to wait.
type Options struct {
	// URL is the server's base URL (https://dtrack.example.com), without /api.
	URL string
	// APIKey is a Dependency-Track API key with the BOM_UPLOAD permission
	// (and PROJECT_CREATION_UPLOAD for AutoCreate).
	APIKey string
	// HTTPClient is the client (default netretry.Default with a 60 s timeout per
	// request: 5xx and 429 retried with backoff honouring Retry-After).
	HTTPClient *http.Client
	// PollInterval is the delay between processing checks (default 2 s).
	PollInterval time.Duration
	// Timeout bounds Wait (default 5 minutes).
	Timeout time.Duration
}

// Project names the Dependency-Track project a BOM belongs to.
type Project struct {
	Name    string
	Version string
	// AutoCreate creates the project when it does not exist.
	AutoCreate bool
}

// uploadBody is the documented JSON body of PUT /api/v1/bom.
type uploadBody struct {
	ProjectName    string `json:"projectName"`
	ProjectVersion string `json:"projectVersion"`
	AutoCreate     bool   `json:"autoCreate"`
	BOM            string `json:"bom"`
}

func (o Options) base() (*url.URL, error) {
	if o.APIKey == "" {
		return nil, errkind.Input(errors.New("dependency-track: no API key given"))
	}
	u, err := url.Parse(strings.TrimRight(o.URL, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.RawQuery != "" {
		return nil, errkind.Input(fmt.Errorf("dependency-track URL %q: expected https://host[:port][/path]", o.URL))
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return nil, errkind.Input(fmt.Errorf("dependency-track URL %q: the API key is sent only over https (plain http only to a loopback address)", o.URL))
	}
	return u, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (o Options) client() *http.Client {
	if o.HTTPClient != nil {
		return o.HTTPClient
	}
	return &http.Client{Transport: netretry.Default, Timeout: 60 * time.Second}
}

// Upload sends the CycloneDX BOM for project and returns the token to Wait on.
func Upload(ctx context.Context, o Options, p Project, bom []byte) (string, error) {
	u, err := o.base()
	if err != nil {
		return "", err
	}
	if p.Name == "" || p.Version == "" {
		return "", errkind.Input(errors.New("dependency-track: the project name and version are required"))
	}
	if len(bom) == 0 || len(bom) > MaxBOMBytes {
		return "", errkind.Input(fmt.Errorf("dependency-track: the BOM is %d bytes; expected 1 to %d", len(bom), MaxBOMBytes))
	}
	body, err := json.Marshal(uploadBody{ProjectName: p.Name, ProjectVersion: p.Version, AutoCreate: p.AutoCreate, BOM: base64.StdEncoding.EncodeToString(bom)})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String()+"/api/v1/bom", bytes.NewReader(body))
	if err != nil {
		return "", errkind.Input(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Api-Key", o.APIKey)
	var out struct {
		Token string `json:"token"`
	}
	if err := do(o.client(), req, "uploading the BOM", &out); err != nil {
		return "", err
	}
	if !tokenRE.MatchString(out.Token) {
		return "", errkind.Infra(errors.New("dependency-track: uploading the BOM: the response carries no valid processing token"))
	}
	return out.Token, nil
}

var tokenRE = regexp.MustCompile(`^[0-9A-Za-z-]{1,64}$`)

// Wait polls the processing status of token until the server reports it done,
// ctx ends or Options.Timeout passes (an infrastructure error).
func Wait(ctx context.Context, o Options, token string) error {
	u, err := o.base()
	if err != nil {
		return err
	}
	if !tokenRE.MatchString(token) {
		return errkind.Input(fmt.Errorf("dependency-track: bad processing token %q", token))
	}
	interval, timeout := o.PollInterval, o.Timeout
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String()+"/api/v1/event/token/"+url.PathEscape(token), nil)
		if err != nil {
			return errkind.Input(err)
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-Api-Key", o.APIKey)
		var st struct {
			Processing *bool `json:"processing"`
		}
		if err := do(o.client(), req, "checking BOM processing", &st); err != nil {
			if ctx.Err() != nil {
				return errkind.Infra(fmt.Errorf("dependency-track: the BOM was not processed within %s", timeout))
			}
			return err
		}
		if st.Processing == nil {
			return errkind.Infra(errors.New("dependency-track: checking BOM processing: the response has no processing field"))
		}
		if !*st.Processing {
			return nil
		}
		select {
		case <-ctx.Done():
			return errkind.Infra(fmt.Errorf("dependency-track: the BOM was not processed within %s", timeout))
		case <-time.After(interval):
		}
	}
}

// do sends req and decodes a 2xx JSON response into out, classifying failures.
func do(c *http.Client, req *http.Request, doing string, out any) error {
	resp, err := c.Do(req)
	if err != nil {
		return errkind.Infra(fmt.Errorf("dependency-track: %s: %w", doing, redactErr(err)))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return errkind.Infra(fmt.Errorf("dependency-track: %s: reading the response: %w", doing, err))
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return errkind.Input(fmt.Errorf("dependency-track: %s: %s (the API key needs the BOM_UPLOAD permission, and PROJECT_CREATION_UPLOAD to create projects)", doing, resp.Status))
	case resp.StatusCode == http.StatusNotFound:
		return errkind.Input(fmt.Errorf("dependency-track: %s: %s (no such project, or not a Dependency-Track API at this URL)", doing, resp.Status))
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
		return errkind.Infra(fmt.Errorf("dependency-track: %s: %s after the retries", doing, resp.Status))
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return errkind.Input(fmt.Errorf("dependency-track: %s: %s", doing, resp.Status))
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return errkind.Infra(fmt.Errorf("dependency-track: %s: %s", doing, resp.Status))
	}
	if len(data) > maxResponseBytes {
		return errkind.Infra(fmt.Errorf("dependency-track: %s: response over %d bytes", doing, maxResponseBytes))
	}
	if err := json.Unmarshal(data, out); err != nil {
		return errkind.Infra(fmt.Errorf("dependency-track: %s: the response is not the expected JSON: %w", doing, err))
	}
	return nil
}

// redactErr drops the URL from a transport error (it holds no secret, but the
// error text is all a user needs without the full request line).
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
