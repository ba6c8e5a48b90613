// Command tsaserver is sigstore/timestamp-authority's timestamp server
// (v2.1.3, its REST API and in-memory signer, as `timestamp-server serve
// --timestamp-signer memory --disable-ntp-monitoring` runs them) without the
// Prometheus metrics listener, which timestamp-server binds on the fixed
// port :2112: with it two test stacks could not run at once. It listens on
// -host:-port (port 0 picks a free one) and prints "listening on HOST:PORT"
// once the port is bound.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	// The timestamp-server command's package binds its flags' defaults into
	// viper when loaded; the API reads its settings from there.
	_ "github.com/sigstore/timestamp-authority/v2/cmd/timestamp-server/app"
	"github.com/sigstore/timestamp-authority/v2/pkg/server"
	"github.com/spf13/viper"
)

func main() {
	host := flag.String("host", "127.0.0.1", "address to listen on")
	port := flag.Int("port", 0, "port to listen on (0: a free one)")
	flag.Parse()
	viper.Set("timestamp-signer", "memory")
	srv := server.NewRestAPIServer(*host, *port, []string{"http"}, false, 10*time.Second, 10*time.Second)
	defer srv.Shutdown() //nolint:errcheck
	if err := srv.Listen(); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stdout, "listening on %s:%d\n", *host, srv.Port)
	if err := srv.Serve(); err != nil {
		log.Fatal(err)
	}
}
