package main

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/testserver"
	"github.com/gatehouse/gatehouse/token"
)

func verifiesWith(t *testing.T, tok, secret string) bool {
	t.Helper()
	i, err := token.NewIssuer(secret, testserver.NewClockAtNow())
	if err != nil {
		t.Fatal(err)
	}
	_, err = i.Parse(tok)
	return err == nil
}
