package gha

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxEventBytes bounds the event payload read from GITHUB_EVENT_PATH. GitHub caps
// webhook payloads at 25 MB.
const MaxEventBytes = 25 << 20

// Context is the run's GitHub context, from the runner's default variables.
type Context struct {
	EventName   string // GITHUB_EVENT_NAME
	EventPath   string // GITHUB_EVENT_PATH
	Repository  string // owner/name
	SHA         string
	Ref         string
	Workspace   string
	ServerURL   string
	APIURL      string
	RunID       string
	RunAttempt  string
	Workflow    string
	WorkflowRef string
	Actor       string
	Job         string
}

// Context reads the run's context variables.
func (r *Runtime) Context() Context {
	g := r.getenv
	c := Context{
		EventName: g("GITHUB_EVENT_NAME"), EventPath: g("GITHUB_EVENT_PATH"),
		Repository: g("GITHUB_REPOSITORY"), SHA: g("GITHUB_SHA"), Ref: g("GITHUB_REF"),
		Workspace: g("GITHUB_WORKSPACE"), ServerURL: g("GITHUB_SERVER_URL"), APIURL: g("GITHUB_API_URL"),
		RunID: g("GITHUB_RUN_ID"), RunAttempt: g("GITHUB_RUN_ATTEMPT"), Workflow: g("GITHUB_WORKFLOW"),
		WorkflowRef: g("GITHUB_WORKFLOW_REF"), Actor: g("GITHUB_ACTOR"), Job: g("GITHUB_JOB"),
	}
	if c.ServerURL == "" {
		c.ServerURL = "https://github.com"
	}
	if c.APIURL == "" {
		c.APIURL = "https://api.github.com"
	}
	return c
}

// Owner and Name split Repository.
func (c Context) Owner() string { o, _, _ := strings.Cut(c.Repository, "/"); return o }

// Name is the repository name without its owner.
func (c Context) Name() string { _, n, _ := strings.Cut(c.Repository, "/"); return n }

// Repo is a repository in an event payload.
type Repo struct {
	FullName      string `json:"full_name"`
	Name          string `json:"name"`
	DefaultBranch string `json:"default_branch"`
	HTMLURL       string `json:"html_url"`
	CloneURL      string `json:"clone_url"`
	Owner         struct {
		Login string `json:"login"`
	} `json:"owner"`
}

// GitRef is a pull request's head or base.
type GitRef struct {
	Ref  string `json:"ref"`
	SHA  string `json:"sha"`
	Repo Repo   `json:"repo"`
}

// PullRequest is the pull_request object of an event payload.
type PullRequest struct {
	Number  int    `json:"number"`
	Title   string `json:"title"`
	Body    string `json:"body"`
	HTMLURL string `json:"html_url"`
	State   string `json:"state"`
	Draft   bool   `json:"draft"`
	Head    GitRef `json:"head"`
	Base    GitRef `json:"base"`
	User    struct {
		Login string `json:"login"`
	} `json:"user"`
}

// MergeGroup is the merge_group object of a merge_group event.
type MergeGroup struct {
	HeadSHA string `json:"head_sha"`
	HeadRef string `json:"head_ref"`
	BaseSHA string `json:"base_sha"`
	BaseRef string `json:"base_ref"`
}

// Event is the typed subset of event payloads the gates read. Which fields are set
// depends on the event: PullRequest for pull_request and pull_request_target,
// MergeGroup for merge_group, Before/After for push.
type Event struct {
	Action      string       `json:"action"`
	Number      int          `json:"number"`
	PullRequest *PullRequest `json:"pull_request"`
	MergeGroup  *MergeGroup  `json:"merge_group"`
	Repository  Repo         `json:"repository"`
	Before      string       `json:"before"`
	After       string       `json:"after"`
	Ref         string       `json:"ref"`
}

// ErrNoEvent is returned by Event when the run has no event payload (a local run).
var ErrNoEvent = errors.New("no event payload: GITHUB_EVENT_PATH is not set")

// Event reads and decodes the payload at GITHUB_EVENT_PATH, bounded by
// MaxEventBytes. The payload is data: nothing in it is ever interpolated into a
// command or a shell.
func (r *Runtime) Event() (*Event, error) {
	path := r.getenv("GITHUB_EVENT_PATH")
	if path == "" {
		return nil, ErrNoEvent
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading event payload: %w", err)
	}
	defer f.Close()
	return DecodeEvent(f)
}

// DecodeEvent decodes an event payload, bounded by MaxEventBytes.
func DecodeEvent(rd io.Reader) (*Event, error) {
	data, err := io.ReadAll(io.LimitReader(rd, MaxEventBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading event payload: %w", err)
	}
	if len(data) > MaxEventBytes {
		return nil, fmt.Errorf("reading event payload: larger than %d bytes", MaxEventBytes)
	}
	var ev Event
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, fmt.Errorf("decoding event payload: %w", err)
	}
	return &ev, nil
}
