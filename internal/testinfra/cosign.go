package testinfra

// The local keyless Sigstore stack's servers, pinned to the versions
// shared/recipes/sigstore/stack.sh was tested with.
var (
	Fulcio          = Tool{Name: "fulcio", Package: "github.com/sigstore/fulcio", Version: "v1.8.8"}
	TimestampServer = Tool{Name: "timestamp-server", Package: "github.com/sigstore/timestamp-authority/v2/cmd/timestamp-server", Version: "v2.1.3"}
	// RekorTiles is Rekor v2 with the POSIX (filesystem) backend.
	RekorTiles = Tool{Name: "posix", Package: "github.com/sigstore/rekor-tiles/v2/cmd/rekor-server/posix", Version: "v2.2.1"}
)
