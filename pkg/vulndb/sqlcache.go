package vulndb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"strings"
	"sync"

	v6 "github.com/anchore/grype/grype/db/v6"
	"gorm.io/gorm"
)

// grype's DB is read-only and immutable while it is open (grype opens it
// mode=ro&immutable=1), and grype asks it the same questions over and over:
// every Debian package resolves the same operating system again, every binary
// package of one source package looks the source package up again, and the
// SQLite driver grype uses parses and plans every query afresh. On the
// benchmark image (2,235 packages) three of four queries are repeats.
//
// tune gives grype's reader a connection pool of its own on the DB file, whose
// connections answer a SELECT they have already run, with the same arguments,
// from memory (anything else passes through), and which do not share one page
// cache: grype opens the file with cache=shared, which makes concurrent readers
// (prefetch) take turns on one lock.

// tune points rdr's queries at the caching pool on the DB file path and closes
// the pool grype opened. A reader that does not expose its gorm handle (a
// future grype) is left as it is: slower, same answers.
func tune(rdr v6.Reader, path string) (*queryCache, error) {
	g, ok := rdr.(interface{ GetDB() *gorm.DB })
	if !ok {
		return nil, nil
	}
	d := g.GetDB()
	orig, err := d.DB()
	if err != nil || d.Statement == nil {
		return nil, nil
	}
	c := newCachingConnector(orig.Driver(), "file:"+uriPath(path)+"?mode=ro&immutable=1")
	pool := sql.OpenDB(c)
	pool.SetMaxIdleConns(runtime.GOMAXPROCS(0))
	if err := pool.Ping(); err != nil {
		pool.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	// every store of the reader holds this *gorm.DB, whose sessions take the
	// statement's connection pool
	d.Config.ConnPool = pool
	d.Statement.ConnPool = pool
	orig.Close()
	return c.cache, nil
}

// uriPath escapes the characters that end or escape an SQLite URI's path.
func uriPath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}

// cacheLimit bounds the bytes the cached results hold (about: 16 per value plus
// its text or blob); past it, new results are not cached. The benchmark image's
// matching caches about 1.3 MB.
const cacheLimit = 64 << 20

// queryCache holds the results of SELECT statements by statement and arguments.
type queryCache struct {
	limit   int // cacheLimit; smaller in tests
	mu      sync.Mutex
	results map[string]*cachedResult
	size    int // bytes held, against limit
	hits    int // queries answered from the cache
}

type cachedResult struct {
	columns []string
	types   []string // DatabaseTypeName per column, when the driver reports it
	scan    []reflect.Type
	rows    [][]driver.Value
	size    int // bytes, about
}

// cachingConnector opens connections through connect and answers repeated
// SELECTs from the shared cache.
type cachingConnector struct {
	drv   driver.Driver
	dsn   string
	cache *queryCache
}

func newCachingConnector(drv driver.Driver, dsn string) *cachingConnector {
	return &cachingConnector{drv: drv, dsn: dsn, cache: &queryCache{limit: cacheLimit, results: map[string]*cachedResult{}}}
}

func (c *cachingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &cachingConn{Conn: conn, cache: c.cache}, nil
}

func (c *cachingConnector) Driver() driver.Driver { return c.drv }

type cachingConn struct {
	driver.Conn
	cache *queryCache
}

// key is the statement and its arguments, or "" for a statement not cached.
func key(query string, args []driver.NamedValue) string {
	q := strings.TrimSpace(query)
	if len(q) < 6 || !strings.EqualFold(q[:6], "select") {
		return ""
	}
	var b strings.Builder
	b.WriteString(q)
	for _, a := range args {
		b.WriteByte(0)
		if a.Name != "" {
			return "" // named arguments are not used by grype; not worth keying
		}
		switch v := a.Value.(type) {
		case nil:
			b.WriteString("n")
		case int64:
			fmt.Fprintf(&b, "i%d", v)
		case float64:
			fmt.Fprintf(&b, "f%v", v)
		case bool:
			fmt.Fprintf(&b, "b%t", v)
		case string:
			fmt.Fprintf(&b, "s%q", v)
		case []byte:
			fmt.Fprintf(&b, "x%x", v)
		default:
			return "" // time.Time and anything else: not cached
		}
	}
	return b.String()
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	qc, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	k := key(query, args)
	if k == "" {
		return qc.QueryContext(ctx, query, args)
	}
	c.cache.mu.Lock()
	r, hit := c.cache.results[k]
	if hit {
		c.cache.hits++
	}
	c.cache.mu.Unlock()
	if hit {
		return &cachedRows{r: r}, nil
	}
	rows, err := qc.QueryContext(ctx, query, args)
	if err != nil {
		return nil, err
	}
	r, err = materialize(rows)
	if err != nil {
		return nil, err
	}
	c.cache.mu.Lock()
	if c.cache.size+r.size <= c.cache.limit {
		if _, dup := c.cache.results[k]; !dup {
			c.cache.results[k] = r
			c.cache.size += r.size
		}
	}
	c.cache.mu.Unlock()
	return &cachedRows{r: r}, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if ec, ok := c.Conn.(driver.ExecerContext); ok {
		return ec.ExecContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if pc, ok := c.Conn.(driver.ConnPrepareContext); ok {
		return pc.PrepareContext(ctx, query)
	}
	return c.Conn.Prepare(query)
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if bc, ok := c.Conn.(driver.ConnBeginTx); ok {
		return bc.BeginTx(ctx, opts)
	}
	return c.Conn.Begin() //nolint:staticcheck // the fallback database/sql uses too
}

func (c *cachingConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

// materialize reads rows to the end, copying every value out of the driver's
// buffers.
func materialize(rows driver.Rows) (*cachedResult, error) {
	defer rows.Close()
	cols := rows.Columns()
	r := &cachedResult{columns: cols}
	if t, ok := rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		for i := range cols {
			r.types = append(r.types, t.ColumnTypeDatabaseTypeName(i))
		}
	}
	if t, ok := rows.(driver.RowsColumnTypeScanType); ok {
		for i := range cols {
			r.scan = append(r.scan, t.ColumnTypeScanType(i))
		}
	}
	for {
		dest := make([]driver.Value, len(cols))
		err := rows.Next(dest)
		if errors.Is(err, io.EOF) {
			return r, nil
		}
		if err != nil {
			return nil, err
		}
		for i, v := range dest {
			r.size += 16
			switch v := v.(type) {
			case []byte:
				dest[i] = append([]byte(nil), v...)
				r.size += len(v)
			case string:
				r.size += len(v)
			}
		}
		r.rows = append(r.rows, dest)
	}
}

// cachedRows replays a cached result.
type cachedRows struct {
	r *cachedResult
	i int
}

func (c *cachedRows) Columns() []string { return c.r.columns }
func (c *cachedRows) Close() error      { return nil }

func (c *cachedRows) Next(dest []driver.Value) error {
	if c.i >= len(c.r.rows) {
		return io.EOF
	}
	row := c.r.rows[c.i]
	c.i++
	for i, v := range row {
		if b, ok := v.([]byte); ok {
			v = append([]byte(nil), b...) // the caller may keep or change it
		}
		dest[i] = v
	}
	return nil
}

func (c *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if i < len(c.r.types) {
		return c.r.types[i]
	}
	return ""
}

func (c *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if i < len(c.r.scan) {
		return c.r.scan[i]
	}
	return reflect.TypeFor[any]()
}
