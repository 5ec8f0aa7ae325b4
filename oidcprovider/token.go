package oidcprovider

import (
	"net/http"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// tokenEndpoint is op's token endpoint, with a code exchange's write of the grant run beside
// the RS256 signature of the ID token instead of before it (storage.issue, writeAside): the two
// are independent until the answer, and the answer waits for the write. If the write fails (the
// code used twice, the session ended) the answer op prepared is dropped and the error sent
// instead, so no token leaves gatehouse unless its grant is stored, as when the write ran first.
func (p *Provider) tokenEndpoint(w http.ResponseWriter, r *http.Request) {
	m := memoOf(r.Context())
	m.mu.Lock()
	m.aside = true
	m.mu.Unlock()
	aw := &awaitWrite{ResponseWriter: w, r: r, m: m}
	p.op.ServeHTTP(aw, r)
	// Normally the answer waited already; never leave the write running past the request.
	if err := m.wait(); err != nil {
		p.log.Error("storing a grant failed", "err", err)
	}
}

// awaitWrite holds op's answer until the write started aside has finished.
type awaitWrite struct {
	http.ResponseWriter
	r       *http.Request
	m       *requestMemo
	started bool // the answer has begun (op's, or the write's error)
	dropped bool // op's answer is replaced by the write's error
}

func (a *awaitWrite) begin() {
	if a.started {
		return
	}
	a.started = true
	if err := a.m.wait(); err != nil {
		a.dropped = true
		op.RequestError(a.ResponseWriter, a.r, err, nil)
	}
}

func (a *awaitWrite) WriteHeader(code int) {
	a.begin()
	if !a.dropped {
		a.ResponseWriter.WriteHeader(code)
	}
}

func (a *awaitWrite) Write(b []byte) (int, error) {
	a.begin()
	if a.dropped {
		return len(b), nil
	}
	return a.ResponseWriter.Write(b)
}

func (a *awaitWrite) Unwrap() http.ResponseWriter { return a.ResponseWriter }
