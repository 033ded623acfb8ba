package e2e

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// PKI is a private certificate authority made for one test and the
// certificates it signed, as PEM files: a server certificate for
// 127.0.0.1, ::1, localhost and svc.test (a name no resolver knows, for
// tests of a server name set apart from the address), and a client
// certificate for mutual TLS.
// No system trusts the authority, so a client verifies the server only
// when given CA.
type PKI struct {
	CA                    string // the authority's certificate
	ServerCert, ServerKey string // the server's certificate and private key
	ClientCert, ClientKey string // the client's certificate and private key
}

// NewPKI writes a fresh authority and its two certificates into dir. The
// certificates are valid from an hour ago for a day; the keys are ECDSA
// P-256, in PKCS #8.
func NewPKI(t testing.TB, dir string) PKI {
	t.Helper()
	p := PKI{
		CA:         filepath.Join(dir, "ca.pem"),
		ServerCert: filepath.Join(dir, "server.pem"),
		ServerKey:  filepath.Join(dir, "server-key.pem"),
		ClientCert: filepath.Join(dir, "client.pem"),
		ClientKey:  filepath.Join(dir, "client-key.pem"),
	}
	now := time.Now()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "goodput test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	require.NoError(t, err, "create the CA certificate")
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err, "parse the CA certificate")
	writePEM(t, p.CA, "CERTIFICATE", caDER)

	leaf := func(serial int64, name string, usage x509.ExtKeyUsage, certPath, keyPath string, dnsNames []string, ips []net.IP) {
		key := newKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: name},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			DNSNames:     dnsNames,
			IPAddresses:  ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
		require.NoError(t, err, "create the %s certificate", name)
		writePEM(t, certPath, "CERTIFICATE", der)
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		require.NoError(t, err, "marshal the %s key", name)
		writePEM(t, keyPath, "PRIVATE KEY", keyDER)
	}
	leaf(2, "localhost", x509.ExtKeyUsageServerAuth, p.ServerCert, p.ServerKey,
		[]string{"localhost", "svc.test"}, []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback})
	leaf(3, "goodput loadgen", x509.ExtKeyUsageClientAuth, p.ClientCert, p.ClientKey, nil, nil)
	return p
}

// newKey returns a fresh ECDSA P-256 key.
func newKey(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err, "generate a key")
	return k
}

// writePEM writes der as one PEM block of type typ to path, readable by
// its owner only.
func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600), "write %s", path)
}
