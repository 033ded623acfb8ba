package workload

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLSFiles says how a run's client speaks TLS to https:// URLs: whom it
// trusts, what it presents and which name it verifies. The flags
// (--cacert, --cert, --key, --server-name, --insecure) and profiles
// (client.tls) both fill it. A plain value; the zero value trusts the
// system's roots and verifies each URL's host.
type TLSFiles struct {
	CAFile     string // PEM certificates that verify the server, in place of the system's roots
	CertFile   string // PEM client certificate, for mutual TLS (with KeyFile)
	KeyFile    string // PEM private key of CertFile
	ServerName string // the name verified and sent as SNI, in place of each URL's host
	Insecure   bool   // verify nothing (a test server's self-signed certificate)
}

// Config loads the files and returns the TLS configuration they describe;
// errors name the file and what was wrong with it.
func (f TLSFiles) Config() (*tls.Config, error) {
	c := &tls.Config{ServerName: f.ServerName, InsecureSkipVerify: f.Insecure, MinVersion: tls.VersionTLS12} //nolint:gosec // Insecure is opt-in
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s: no PEM certificate in it", f.CAFile)
		}
	}
	switch {
	case f.CertFile != "" && f.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate %s, key %s: %w", f.CertFile, f.KeyFile, err)
		}
		c.Certificates = []tls.Certificate{cert}
	case f.CertFile != "" || f.KeyFile != "":
		return nil, errors.New("a client certificate needs both its certificate and its key file")
	}
	return c, nil
}

// tlsFor returns the configuration of a TLS connection to host: base (nil:
// the defaults) with the host as the name to verify unless base names one,
// offering protos by ALPN.
func tlsFor(base *tls.Config, host string, protos ...string) *tls.Config {
	var c *tls.Config
	if base == nil {
		c = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		c = base.Clone()
	}
	if c.ServerName == "" {
		c.ServerName = host
	}
	c.NextProtos = protos
	return c
}
