package signing

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	vault "github.com/hashicorp/vault/api"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
	"github.com/sigstore/sigstore/pkg/signature/options"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	// sigstore's KMS providers register their URI schemes with pkg/signature/kms,
	// as cosign's CLI links them.
	kmsaws "github.com/sigstore/sigstore/pkg/signature/kms/aws"
	kmsazure "github.com/sigstore/sigstore/pkg/signature/kms/azure"
	kmsgcp "github.com/sigstore/sigstore/pkg/signature/kms/gcp"
	kmsvault "github.com/sigstore/sigstore/pkg/signature/kms/hashivault"

	"github.com/secure-gates/secure-gates/pkg/errkind"
)

// kmsScheme is one KMS URI scheme and its provider's reference check.
type kmsScheme struct {
	prefix string
	name   string
	valid  func(string) error
	format string
}

// kmsSchemes are the KMS URI schemes a key may use. Only these reach
// kms.Get: an unknown scheme would make sigstore look for a plugin program
// (sigstore-kms-<name>) on PATH.
var kmsSchemes = []kmsScheme{
	{kmsaws.ReferenceScheme, "AWS KMS", kmsaws.ValidReference, "awskms://[ENDPOINT]/[KEY ID, ALIAS or ARN]"},
	{kmsgcp.ReferenceScheme, "Google Cloud KMS", kmsgcp.ValidReference, "gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K[/cryptoKeyVersions/V]"},
	{kmsazure.ReferenceScheme, "Azure Key Vault", kmsazure.ValidReference, "azurekms://VAULT-HOST/KEY-NAME[/VERSION]"},
	{kmsvault.ReferenceScheme, "HashiCorp Vault transit", kmsvault.ValidReference, "hashivault://KEY-NAME"},
	{kmsvault.AlternativeScheme, "OpenBao transit", kmsvault.ValidReference, "openbao://KEY-NAME"},
}

func kmsProvider(key string) (kmsScheme, bool) {
	key = strings.TrimSpace(key)
	for _, s := range kmsSchemes {
		if strings.HasPrefix(key, s.prefix) {
			return s, true
		}
	}
	return kmsScheme{}, false
}

// kmsKeyPair is a sign.Keypair whose private key lives in a KMS: every
// signature is one request to it.
type kmsKeyPair struct {
	publicKey
	uri string
	sv  kms.SignerVerifier
}

var _ sign.Keypair = (*kmsKeyPair)(nil)

// loadKMSKey checks uri against its provider's format (an input error), then
// fetches the public key (the first request to the KMS).
func loadKMSKey(ctx context.Context, uri string) (*kmsKeyPair, error) {
	p, ok := kmsProvider(uri)
	if !ok {
		return nil, errkind.Input(fmt.Errorf("key %q: not a KMS URI", uri))
	}
	if err := p.valid(uri); err != nil {
		return nil, errkind.Input(fmt.Errorf("key %s: not a valid %s key reference, expected %s: %w", uri, p.name, p.format, err))
	}
	// The hash only matters to providers that sign a message themselves; SignData
	// passes the digest of the key's own hash algorithm.
	sv, err := kms.Get(ctx, uri, crypto.SHA256)
	if err != nil {
		// Client set-up reads no network: missing configuration or credentials.
		return nil, errkind.Input(fmt.Errorf("key %s: setting up the %s client (credentials and configuration come from the environment, as for cosign): %w", uri, p.name, err))
	}
	pub, err := sv.PublicKey(options.WithContext(ctx))
	if err != nil {
		return nil, classifyKMS(fmt.Sprintf("key %s: fetching the public key from %s", uri, p.name), err)
	}
	pk, err := newPublicKey(pub)
	if err != nil {
		return nil, errkind.Input(fmt.Errorf("key %s: %w", uri, err))
	}
	if pk.alg.GetKeyType() != signature.ECDSA && pk.alg.GetKeyType() != signature.RSA {
		return nil, errkind.Input(fmt.Errorf("key %s: %T keys are not supported; use an ECDSA P-256 key", uri, pub))
	}
	return &kmsKeyPair{publicKey: pk, uri: uri, sv: sv}, nil
}

// SignData hashes data with the key's hash and has the KMS sign the digest.
func (k *kmsKeyPair) SignData(ctx context.Context, data []byte) ([]byte, []byte, error) {
	digest, hf := k.digest(data)
	sig, err := k.sv.SignMessage(nil, options.WithContext(ctx), options.WithDigest(digest), options.WithCryptoSignerOpts(hf))
	if err != nil {
		p, _ := kmsProvider(k.uri)
		return nil, nil, classifyKMS(fmt.Sprintf("signing with key %s at %s", k.uri, p.name), err)
	}
	return sig, digest, nil
}

// classifyKMS tells a refusal by the KMS (the key does not exist, access is
// denied, the request is invalid: an input error) from an outage (no answer,
// a timeout, a server error: infrastructure).
func classifyKMS(doing string, err error) error {
	wrapped := fmt.Errorf("%s: %w", doing, err)
	if errors.Is(err, context.Canceled) {
		return wrapped
	}
	if code, ok := kmsStatus(err); ok {
		if code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests {
			return errkind.Input(wrapped)
		}
		return errkind.Infra(wrapped)
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		switch st.Code() {
		case codes.NotFound, codes.PermissionDenied, codes.Unauthenticated, codes.InvalidArgument, codes.FailedPrecondition:
			return errkind.Input(wrapped)
		}
	}
	return errkind.Infra(wrapped)
}

// kmsStatus finds the HTTP status of the KMS's answer in err, if it answered.
func kmsStatus(err error) (int, bool) {
	var aws interface{ HTTPStatusCode() int } // smithy-go's ResponseError (AWS SDK v2)
	if errors.As(err, &aws) {
		return aws.HTTPStatusCode(), true
	}
	var az *azcore.ResponseError
	if errors.As(err, &az) {
		return az.StatusCode, true
	}
	var v *vault.ResponseError
	if errors.As(err, &v) {
		return v.StatusCode, true
	}
	return 0, false
}
