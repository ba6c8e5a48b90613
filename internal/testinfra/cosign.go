package testinfra

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The local keyless Sigstore stack's servers, pinned to the versions
// shared/recipes/sigstore/stack.sh was tested with.
var (
	Fulcio = Tool{Name: "fulcio", Package: "github.com/sigstore/fulcio", Version: "v1.8.8"}
	// RekorTiles is Rekor v2 with the POSIX (filesystem) backend.
	RekorTiles = Tool{Name: "posix", Package: "github.com/sigstore/rekor-tiles/v2/cmd/rekor-server/posix", Version: "v2.2.1"}
)

// TimestampServer is sigstore/timestamp-authority v2.1.3's timestamp server
// built from the wrapper module internal/testinfra/tsaserver: its REST API
// and memory signer without the metrics listener timestamp-server binds on
// the fixed port :2112, so that test stacks run side by side.
var TimestampServer = ModuleTool{
	Name:      "tsaserver",
	CacheName: "tsaserver",
	Module:    "internal/testinfra/tsaserver",
	Package:   ".",
	Version:   "v2.1.3",
}

// RunCosign runs the pinned cosign CLI (CosignCLI) offline, with a private
// HOME and TUF_ROOT, an empty COSIGN_PASSWORD, the test's PATH and env added,
// and returns its combined output.
func RunCosign(t testing.TB, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(CosignCLI.Path(t), args...)
	home := t.TempDir()
	cmd.Env = append([]string{"HOME=" + home, "TUF_ROOT=" + filepath.Join(home, "tuf"), "COSIGN_PASSWORD=", "PATH=" + os.Getenv("PATH")}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}
