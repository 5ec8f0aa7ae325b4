package oidctest

import (
	"net"

	"github.com/oauth2-proxy/mockoidc"
)

func startOnLoopback(m *mockoidc.MockOIDC) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	return m.Start(ln, nil)
}
