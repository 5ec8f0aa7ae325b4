package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"
)

// StartTLS starts a server that offers STARTTLS with a fresh self-signed certificate for
// 127.0.0.1; the returned pool trusts it.
func StartTLS(t testing.TB) (*Server, *x509.CertPool) {
	t.Helper()
	cfg, pool := selfSigned(t)
	s := Start(t)
	s.mu.Lock()
	s.srv.TLSConfig = cfg
	s.mu.Unlock()
	return s, pool
}

// StartImplicitTLS starts a server that speaks TLS from the first byte (SMTPS, port 465 style).
func StartImplicitTLS(t testing.TB) (*Server, *x509.CertPool) {
	t.Helper()
	cfg, pool := selfSigned(t)
	s := &Server{t: t, arrived: make(chan struct{}, 1000)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	s.Addr, s.Host, s.Port = ln.Addr().String(), "127.0.0.1", ln.Addr().(*net.TCPAddr).Port
	s.serve(tls.NewListener(ln, cfg))
	t.Cleanup(s.Stop)
	return s, pool
}

func selfSigned(t testing.TB) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtptest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}, pool
}
