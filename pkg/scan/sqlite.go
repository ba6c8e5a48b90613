package scan

// syft's RPM cataloguer needs a database/sql driver named "sqlite"; grype's DB
// layer brings the same one (glebarez/go-sqlite, pure Go). Importing it here keeps
// a deps/license scan working whichever of the two packages links first.
import _ "github.com/glebarez/go-sqlite"
