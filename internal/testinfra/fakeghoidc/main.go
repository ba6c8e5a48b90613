// Command fakeghoidc is a test OIDC issuer that mints GitHub-Actions-shaped ID
// tokens, for the local keyless Sigstore stack (testinfra.StartSigstore).
//
// Endpoints: /.well-known/openid-configuration and /jwks (what Fulcio reads), and
// /token?audience=X, which behaves like the runner's ACTIONS_ID_TOKEN_REQUEST_URL:
// it requires "Authorization: Bearer <request token>" and answers
// {"value": "<jwt>"}. The token carries every claim Fulcio's github-workflow
// issuer type requires; the certificate identity Fulcio derives is
// https://github.com/ + job_workflow_ref.
//
// Adapted from shared/recipes/sigstore/oidc/main.go. For tests only.
package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"flag"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"time"
)

var b64 = base64.RawURLEncoding

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	repo := flag.String("repo", "acme/widgets", "owner/repo")
	wf := flag.String("workflow", ".github/workflows/release.yml", "workflow path")
	ref := flag.String("ref", "refs/heads/main", "git ref")
	sha := flag.String("sha", "0123456789abcdef0123456789abcdef01234567", "commit")
	requestToken := flag.String("request-token", "", "bearer token /token requires (ACTIONS_ID_TOKEN_REQUEST_TOKEN)")
	flag.Parse()
	if *requestToken == "" {
		log.Fatal("-request-token is required")
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	iss := "http://" + ln.Addr().String()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	const kid = "k1"
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": iss, "jwks_uri": iss + "/jwks",
			"response_types_supported": []string{"id_token"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"claims_supported":                      []string{"sub", "aud", "iss", "repository", "workflow_ref", "job_workflow_ref"},
		})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
			"n": b64.EncodeToString(key.N.Bytes()), "e": b64.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		want := "Bearer " + *requestToken
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(want)) != 1 {
			http.Error(w, "bad request token", http.StatusUnauthorized)
			return
		}
		aud := r.URL.Query().Get("audience")
		if aud == "" {
			http.Error(w, "audience is required", http.StatusBadRequest)
			return
		}
		now := time.Now()
		wfRef := *repo + "/" + *wf + "@" + *ref
		claims := map[string]any{
			"iss": iss, "aud": aud, "sub": "repo:" + *repo + ":ref:" + *ref,
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "jti": now.String(),
			"repository": *repo, "repository_owner": "acme", "repository_id": "1", "repository_owner_id": "2",
			"repository_visibility": "public", "ref": *ref, "ref_type": "branch", "sha": *sha,
			"event_name": "push", "workflow": "release", "workflow_ref": wfRef, "workflow_sha": *sha,
			"job_workflow_ref": wfRef, "job_workflow_sha": *sha, "runner_environment": "github-hosted",
			"run_id": "42", "run_number": "7", "run_attempt": "1", "actor": "octocat",
		}
		hdr, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid})
		body, _ := json.Marshal(claims)
		signing := b64.EncodeToString(hdr) + "." + b64.EncodeToString(body)
		h := sha256.Sum256([]byte(signing))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"count": 1, "value": signing + "." + b64.EncodeToString(sig)})
	})
	// The first line on stdout is the issuer URL: the test reads it.
	_, _ = os.Stdout.WriteString(iss + "\n")
	log.Fatal(http.Serve(ln, mux))
}
