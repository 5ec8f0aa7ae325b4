package auth

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse"
)

// reauthLimit guards the current password asked before an account change (password, email):
// someone holding a stolen session must not be able to guess it, often reused elsewhere, at
// hashing speed. The sign-in burst and refill apply, per user.
func (s *rateLimits) reauthLimit(ctx context.Context, userID int64, meta ClientMeta) error {
	st := s.core.Settings()
	return s.limit(ctx, "reauth:"+strconv.FormatInt(userID, 10), st.LoginBurst, st.LoginRefill, meta, "")
}

// mfaLimit bounds second-factor guesses per user across challenges and account actions: the
// attempt limit of one challenge alone would let someone who knows the password open challenge
// after challenge. The bucket holds twice auth_mfa_max_attempts (at least 10: a user fumbling two
// challenges is not locked out) and regains one every mfaRefill, about 290 guesses a day (each
// covering three codes with the clock skew): under 0.1 % of the code space. Unlike the password buckets it fails closed: with the limiter down (Redis), nothing else
// would slow guessing, since a password step costs only one hash.
func (s *rateLimits) mfaLimit(ctx context.Context, userID int64, meta ClientMeta) error {
	st := s.core.Settings()
	key := "mfa:" + strconv.FormatInt(userID, 10)
	ok, retry, err := s.limiter.Allow(ctx, key, max(10, 2*st.MFAMaxAttempts), mfaRefill)
	if err != nil {
		s.log.Error("rate limiter failed; refusing second-factor attempts until it is back", "err", err)
		return &gatehouse.Error{Code: gatehouse.EBusy, RetryAfter: time.Minute, Message: "codes cannot be checked right now; try again in a minute"}
	}
	if err := s.refusal(ctx, key, mfaRefill, ok, retry, nil, meta, ""); err != nil {
		var e *gatehouse.Error
		if errors.As(err, &e) {
			return &gatehouse.Error{Code: e.Code, RetryAfter: e.RetryAfter, Message: "too many code attempts; try again later"}
		}
		return err
	}
	return nil
}

// Endpoints bound by the expensive-request limit (auth_expensive_rate_limit_per_min); each has
// its own bucket per address, so the passkey autofill every login page starts does not use up
// the budget of registration.
const (
	LimitRegister       = "register"
	LimitRecover        = "recover"
	LimitResend         = "resend"
	LimitPasskeyBegin   = "passkey_begin"
	LimitExternalStart  = "oidc_start"
	LimitExternalVerify = "external_verify"
)

// ExpensiveLimit charges one request of endpoint what to the client address's bucket: at most
// auth_expensive_rate_limit_per_min at once, refilled evenly over a minute (seed 001: 60/min).
// Exported so that endpoints of later features use the same setting.
func (c *Core) ExpensiveLimit(ctx context.Context, what string, meta ClientMeta) error {
	return c.limits.expensive(ctx, what, meta)
}

func (s *rateLimits) expensive(ctx context.Context, what string, meta ClientMeta) error {
	n := max(s.core.Settings().ExpensivePerMinute, 1)
	ok, retry, err := s.limiter.Allow(ctx, "expensive:"+what+":"+ipBucket(meta.IP), n, time.Minute/time.Duration(n))
	if err != nil {
		s.log.Error("rate limiter failed; allowing the request", "err", err)
		return nil
	}
	if !ok {
		return &gatehouse.Error{Code: gatehouse.ERateLimited, Message: "too many requests from your address; try again later", RetryAfter: max(retry, time.Second)}
	}
	return nil
}

// mailLimit bounds, per client IP, the requests that make gatehouse send mail (registration,
// recovery, resends), so nobody can use it to flood mailboxes: first the endpoint's expensive-
// request bucket, then the sign-in limiter's burst and refill under a key of its own (stricter
// by default: mailboxes are someone else's).
func (s *rateLimits) mailLimit(ctx context.Context, what string, meta ClientMeta) error {
	if err := s.expensive(ctx, what, meta); err != nil {
		return err
	}
	st := s.core.Settings()
	ok, retry, err := s.limiter.Allow(ctx, "mail-ip:"+ipBucket(meta.IP), st.LoginBurst, st.LoginRefill)
	if err != nil {
		s.log.Error("rate limiter failed; allowing the request", "err", err)
		return nil
	}
	if !ok {
		return &gatehouse.Error{Code: gatehouse.ERateLimited, Message: "too many requests; try again later", RetryAfter: max(retry, time.Second)}
	}
	return nil
}

func (s *rateLimits) limit(ctx context.Context, key string, burst int, every time.Duration, meta ClientMeta, login string) error {
	ok, retry, err := s.limiter.Allow(ctx, key, burst, every)
	return s.refusal(ctx, key, every, ok, retry, err, meta, login)
}

// reserve is limit without taking a token, for budgets that only some outcomes spend (see
// charge): it checks that the bucket holds a token for this attempt and for every attempt of this
// instance already in flight on the same key, and holds a place until release. So a concurrent
// burst is refused before hashing instead of overshooting the budget once the failures are
// charged. Call charge (if the attempt counts) before release.
func (s *rateLimits) reserve(ctx context.Context, key string, burst int, every time.Duration, meta ClientMeta) (release func(), err error) {
	release, ok, retry, err := s.hold(ctx, key, burst, every)
	if err := s.refusal(ctx, key, every, ok, retry, err, meta, ""); err != nil {
		release()
		return nil, err
	}
	return release, nil
}

// hold is reserve without the refusal: ok tells whether the bucket has room for this attempt
// and those in flight. release must be called whatever the answer.
func (s *rateLimits) hold(ctx context.Context, key string, burst int, every time.Duration) (release func(), ok bool, retry time.Duration, err error) {
	s.mu.Lock()
	s.inflight[key]++
	need := s.inflight[key]
	s.mu.Unlock()
	release = func() {
		s.mu.Lock()
		if s.inflight[key]--; s.inflight[key] <= 0 {
			delete(s.inflight, key)
		}
		s.mu.Unlock()
	}
	ok, retry, err = s.limiter.Peek(ctx, key, need, burst, every)
	return release, ok, retry, err
}

// alone takes key for one attempt of this instance at a time: ok is false (and release does
// nothing) while another attempt holds it.
func (s *rateLimits) alone(key string) (release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight[key] > 0 {
		return func() {}, false
	}
	s.inflight[key] = 1
	return func() {
		s.mu.Lock()
		delete(s.inflight, key)
		s.mu.Unlock()
	}, true
}

// charge spends a token of key's bucket after an attempt that counts (a failed sign-in).
func (s *rateLimits) charge(ctx context.Context, key string, burst int, every time.Duration) {
	if _, _, err := s.limiter.Allow(ctx, key, burst, every); err != nil {
		s.log.Error("rate limiter failed", "err", err)
	}
}

// refusal turns a limiter answer into nil or a rate_limited error, recording the event.
func (s *rateLimits) refusal(ctx context.Context, key string, every time.Duration, ok bool, retry time.Duration, err error, meta ClientMeta, login string) error {
	if err != nil {
		// A broken shared limiter (Redis down) must not lock everybody out; the hashing pool
		// still bounds the cost of a flood.
		s.log.Error("rate limiter failed; allowing the attempt", "err", err)
		return nil
	}
	if ok {
		return nil
	}
	s.obs.SignIn("rate_limited")
	// One event per bucket and refill period, not one per refused attempt: refusals cost an
	// attacker nothing, so each must not cost a database write either.
	if first, _, err := s.limiter.Allow(ctx, "event|"+key, 1, every); err == nil && first {
		data := map[string]any{"bucket": strings.SplitN(key, ":", 2)[0]}
		if login != "" {
			data["login"] = login
		}
		s.core.event(ctx, gatehouse.EventLoginRateLimited, 0, "", meta, data)
	}
	if retry < time.Second {
		retry = time.Second
	}
	return &gatehouse.Error{Code: gatehouse.ERateLimited, Message: "too many sign-in attempts; try again later", RetryAfter: retry}
}
