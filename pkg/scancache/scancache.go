// Package scancache is the scan gate's content-addressed cache: answers that
// depend only on bytes (a file's secrets findings, a tree's package catalog,
// the matches of a package set against one DB build) stored under a key that
// hashes those bytes and everything else the answer depends on (rule set,
// configuration, tool and DB versions).
//
// A cache is untrusted input: whatever Get returns has been checked by the
// store (see the implementations), and a caller that cannot parse an entry
// treats it as absent and derives the answer again. A miss is never an error:
// the scan does the work.
package scancache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"sync"
)

// Key is the content address of an entry: SHA-256 over everything the cached
// answer depends on (KeyOf).
type Key [32]byte

// String is the key in hex.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// KeyOf hashes parts into a Key. Each part is length-prefixed, so ("ab", "c")
// and ("a", "bc") give different keys.
func KeyOf(parts ...[]byte) Key {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write(p)
	}
	var k Key
	h.Sum(k[:0])
	return k
}

// Store is what the scanners read and write. Namespaces (ns) separate kinds of
// answers ("secrets", "catalog", "match", ...) and are short lowercase names.
//
// Get returns the value stored under (ns, k), or false when there is none or
// the entry failed the store's checks: the caller then re-derives the answer.
// Put stores a value; a value that cannot be stored is dropped (a cache never
// fails a scan). Both are safe for concurrent use.
type Store interface {
	Get(ns string, k Key) ([]byte, bool)
	Put(ns string, k Key, v []byte)
}

// Memory is a Store held in memory, for tests and for one process's reuse.
// The zero value is ready to use.
type Memory struct {
	mu sync.Mutex
	m  map[string][]byte
}

// Get implements Store.
func (m *Memory) Get(ns string, k Key) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[ns+"/"+k.String()]
	return append([]byte(nil), v...), ok
}

// Put implements Store.
func (m *Memory) Put(ns string, k Key, v []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string][]byte{}
	}
	m.m[ns+"/"+k.String()] = append([]byte(nil), v...)
}

// Len is the number of entries held.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}
