package actiontest

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// ActionsCache stands in for GitHub's cache service behind actions/cache/restore
// and actions/cache/save, with its documented rules: an entry belongs to the ref
// of the run that saved it; a run restores from its own ref's entries, then from
// the default branch's (a pull request also sees its base branch's); an exact
// key first, then the newest entry whose key starts with a restore key; a key is
// saved once per ref (a second save of it is refused, and the step succeeds
// with a warning).
type ActionsCache struct {
	mu      sync.Mutex
	entries []cacheEntry
}

type cacheEntry struct {
	key, ref, dir string
}

// Saved lists the keys saved, with the ref each was saved from ("key@ref").
func (c *ActionsCache) Saved() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, e := range c.entries {
		out = append(out, e.key+"@"+e.ref)
	}
	return out
}

// restore copies the best entry for key and restoreKeys, as ref sees them, into
// path; it returns the key it matched ("" for none).
func (c *ActionsCache) restore(ref, defaultRef, path, key string, restoreKeys []string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, scope := range []string{ref, defaultRef} {
		if e := c.find(scope, key, restoreKeys); e != nil {
			if err := os.MkdirAll(path, 0o755); err != nil {
				return "", err
			}
			return e.key, os.CopyFS(path, os.DirFS(e.dir))
		}
	}
	return "", nil
}

func (c *ActionsCache) find(ref, key string, restoreKeys []string) *cacheEntry {
	for i := len(c.entries) - 1; i >= 0; i-- { // exact key
		if e := &c.entries[i]; e.ref == ref && e.key == key {
			return e
		}
	}
	for _, rk := range restoreKeys {
		for i := len(c.entries) - 1; i >= 0; i-- { // newest first
			if e := &c.entries[i]; e.ref == ref && strings.HasPrefix(e.key, rk) {
				return e
			}
		}
	}
	return nil
}

// save keeps a copy of path under key for ref; false when the key exists.
func (c *ActionsCache) save(ref, path, key string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		if e.ref == ref && e.key == key {
			return false, nil
		}
	}
	if _, err := os.Stat(path); err != nil {
		return false, fmt.Errorf("actions/cache/save: path %s: %w", path, err)
	}
	dir, err := os.MkdirTemp("", "workflow-cache-")
	if err != nil {
		return false, err
	}
	if err := os.CopyFS(dir, os.DirFS(path)); err != nil {
		return false, err
	}
	c.entries = append(c.entries, cacheEntry{key: key, ref: ref, dir: dir})
	return true, nil
}

// cacheStep runs actions/cache/restore or actions/cache/save.
func (wr *WorkflowRun) cacheStep(action string, with map[string]string) (map[string]string, string, error) {
	if wr.Caches == nil {
		wr.Caches = &ActionsCache{}
	}
	ref := wr.Ref
	if ref == "" {
		ref = "refs/heads/main"
	}
	defaultRef := "refs/heads/" + cmp.Or(wr.DefaultBranch, "main")
	path := strings.TrimSpace(with["path"])
	if path == "" || strings.Contains(path, "\n") || !filepath.IsAbs(path) || with["key"] == "" {
		return nil, "", fmt.Errorf("%s: want one absolute path and a key, got path %q key %q", action, path, with["key"])
	}
	if action == "actions/cache/save" {
		if _, err := wr.Caches.save(ref, path, with["key"]); err != nil {
			return nil, "", err
		}
		return nil, "", nil
	}
	var restoreKeys []string
	for _, l := range strings.Split(with["restore-keys"], "\n") {
		if l = strings.TrimSpace(l); l != "" {
			restoreKeys = append(restoreKeys, l)
		}
	}
	matched, err := wr.Caches.restore(ref, defaultRef, path, with["key"], restoreKeys)
	if err != nil {
		return nil, "", err
	}
	return map[string]string{"cache-hit": fmt.Sprint(matched != "" && matched == with["key"]),
		"cache-primary-key": with["key"], "cache-matched-key": matched}, "", nil
}
