package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// testLogo: no logo at first (ENotFound), one saved is read back byte for byte, a second
// replaces it, and a delete (twice) leaves none.
func testLogo(t *testing.T, s gatehouse.Store) {
	ctx := context.Background()
	if _, err := s.Logo(ctx); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
		t.Fatalf("logo of an empty store: %v, want not_found", err)
	}
	// Every byte value, so a backend that stores text would mangle it.
	data := make([]byte, 600)
	for i := range data {
		data[i] = byte(i)
	}
	for i, l := range []*gatehouse.Logo{
		{ContentType: gatehouse.LogoPNG, Data: data, UpdatedAt: base},
		{ContentType: gatehouse.LogoSVG, Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), UpdatedAt: base.Add(time.Hour)},
	} {
		if err := s.SaveLogo(ctx, l); err != nil {
			t.Fatalf("save %d: %v", i, err)
		}
		got, err := s.Logo(ctx)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if got.ContentType != l.ContentType || !bytes.Equal(got.Data, l.Data) || !got.UpdatedAt.Equal(l.UpdatedAt) {
			t.Fatalf("read %d: got %s %d bytes at %v, want %s %d bytes at %v", i, got.ContentType, len(got.Data), got.UpdatedAt, l.ContentType, len(l.Data), l.UpdatedAt)
		}
	}
	for range 2 {
		if err := s.DeleteLogo(ctx); err != nil {
			t.Fatalf("delete: %v", err)
		}
	}
	if _, err := s.Logo(ctx); gatehouse.ErrorCode(err) != gatehouse.ENotFound {
		t.Fatalf("logo after delete: %v, want not_found", err)
	}
}
