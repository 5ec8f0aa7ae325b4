package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The OpenID Provider's hot paths (docs/oidc-provider.md), measured in the same run as the
// request check: the token endpoint (code exchange and refresh), userinfo, and the whole
// authorization-code round trip of a signed-in browser (authorize, which serves the login step in
// place and answers with the code -> token), which the performance target puts under 5 ms of
// server time.

const opRedirect = "http://127.0.0.1:9/callback"

type opClient struct {
	gh             *proc
	cookie, secret string
	verifier       string
	challenge      string
}

func newOPClient(gh *proc, access, cookie string) (*opClient, error) {
	st, m, _, err := gh.post("/api/admin/oidc/clients", map[string]any{"client_id": "bench", "name": "Bench", "redirect_uris": []string{opRedirect}, "skip_consent": true},
		http.Header{"Authorization": {"Bearer " + access}})
	if err != nil || st != 201 {
		return nil, fmt.Errorf("registering the bench client: status %d %v %v", st, m, err)
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(v))
	secret, _ := m["client_secret"].(string)
	return &opClient{gh: gh, cookie: cookie, secret: secret, verifier: v, challenge: base64.RawURLEncoding.EncodeToString(sum[:])}, nil
}

func noRedirects(conns int) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// code walks the browser's redirects with the session cookie and returns the code.
func (o *opClient) code(c *http.Client) (string, error) {
	q := url.Values{"client_id": {"bench"}, "redirect_uri": {opRedirect}, "response_type": {"code"}, "scope": {"openid email profile offline_access"},
		"state": {"s"}, "code_challenge": {o.challenge}, "code_challenge_method": {"S256"}}
	loc := o.gh.url + "/oauth2/authorize?" + q.Encode()
	// Until the redirect leaves gatehouse for the app (one request today, authorize, for a
	// signed-in browser and an app that needs no consent).
	for range 4 {
		if strings.HasPrefix(loc, opRedirect) {
			break
		}
		req, _ := http.NewRequest("GET", loc, nil)
		req.Header.Set("Cookie", "gatehouse_session="+o.cookie)
		resp, err := c.Do(req)
		if err != nil {
			return "", err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		next := resp.Header.Get("Location")
		if next == "" {
			return "", fmt.Errorf("authorize step: status %d without a redirect", resp.StatusCode)
		}
		if strings.HasPrefix(next, "/") {
			next = o.gh.url + next
		}
		loc = next
	}
	u, err := url.Parse(loc)
	if err != nil || u.Query().Get("code") == "" {
		return "", fmt.Errorf("no code in %q", loc)
	}
	return u.Query().Get("code"), nil
}

func (o *opClient) token(c *http.Client, form url.Values) (map[string]any, error) {
	req, _ := http.NewRequest("POST", o.gh.url+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("bench", o.secret)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("token endpoint: status %d %v", resp.StatusCode, m)
	}
	return m, nil
}

func (o *opClient) exchange(c *http.Client, code string) (map[string]any, error) {
	return o.token(c, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {opRedirect}, "code_verifier": {o.verifier}})
}

// loadFn is load for requests that differ each time: each of conns workers calls fn in a closed
// loop for d; fn returns the latency to count (0 with an error counts an error).
func loadFn(conns int, d time.Duration, fn func(c *http.Client, state *string) (time.Duration, error)) result {
	var wg sync.WaitGroup
	lats := make([][]time.Duration, conns)
	var errs atomic.Int64
	start := time.Now()
	deadline := start.Add(d)
	for w := range conns {
		wg.Go(func() {
			c := noRedirects(1)
			defer c.Transport.(*http.Transport).CloseIdleConnections()
			var state string
			for time.Now().Before(deadline) {
				lat, err := fn(c, &state)
				if err != nil {
					errs.Add(1)
					continue
				}
				lats[w] = append(lats[w], lat)
			}
		})
	}
	wg.Wait()
	all := slices.Concat(lats...)
	slices.Sort(all)
	res := result{errors: int(errs.Load()), lats: all, elapsed: time.Since(start)}
	if len(all) > 0 {
		res.rps = float64(len(all)) / res.elapsed.Seconds()
		res.p50 = all[len(all)/2]
		res.p99 = all[len(all)*99/100]
	}
	return res
}

// opCases measures the provider next to the Bearer request check (ref) of the same run.
func opCases(gh *proc, access, cookie string, conns int, d time.Duration, ref result, r *report) error {
	o, err := newOPClient(gh, access, cookie)
	if err != nil {
		return err
	}
	exchange := loadFn(conns, d, func(c *http.Client, _ *string) (time.Duration, error) {
		code, err := o.code(c)
		if err != nil {
			return 0, err
		}
		t0 := time.Now()
		_, err = o.exchange(c, code)
		return time.Since(t0), err
	})
	refresh := loadFn(conns, d, func(c *http.Client, rt *string) (time.Duration, error) {
		if *rt == "" {
			code, err := o.code(c)
			if err != nil {
				return 0, err
			}
			tok, err := o.exchange(c, code)
			if err != nil {
				return 0, err
			}
			*rt, _ = tok["refresh_token"].(string)
		}
		t0 := time.Now()
		tok, err := o.token(c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {*rt}})
		lat := time.Since(t0)
		if err != nil {
			*rt = ""
			return 0, err
		}
		*rt, _ = tok["refresh_token"].(string)
		return lat, nil
	})
	c := noRedirects(1)
	code, err := o.code(c)
	if err != nil {
		return err
	}
	tok, err := o.exchange(c, code)
	if err != nil {
		return err
	}
	at, _ := tok["access_token"].(string)
	info := load(gh.url+"/oauth2/userinfo", http.Header{"Authorization": {"Bearer " + at}}, conns, d)
	// The round trip one at a time: the server's time for one sign-in to an app, without
	// queueing behind other connections.
	trip := loadFn(1, d, func(c *http.Client, _ *string) (time.Duration, error) {
		t0 := time.Now()
		code, err := o.code(c)
		if err != nil {
			return 0, err
		}
		_, err = o.exchange(c, code)
		return time.Since(t0), err
	})
	r.add("case", "req/s", "p50", "p99", "errors", "req/s vs verify", "p99 vs verify")
	for _, c := range []struct {
		name string
		res  result
	}{{"verify, Bearer token (same run)", ref}, {"token: code exchange", exchange}, {"token: refresh", refresh}, {"userinfo", info},
		{"code round trip, 1 connection (3 requests)", trip}} {
		r.add(c.name, fmt.Sprintf("%.0f", c.res.rps), us(c.res.p50), us(c.res.p99), strconv.Itoa(c.res.errors),
			fmt.Sprintf("%.2f", c.res.rps/ref.rps), fmt.Sprintf("%.2f", float64(c.res.p99)/float64(ref.p99)))
	}
	r.print("OpenID Provider (target: code round trip p50 < 5 ms)")
	return nil
}
