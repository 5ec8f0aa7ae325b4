package oidcprovider

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse/gatehouse"
)

// storage is the op package's view of the provider (op.Storage): every protocol decision the
// library leaves to its host is made here, against the gatehouse store and session.
type storage struct{ p *Provider }

var _ op.Storage = storage{}
var _ op.CanTerminateSessionFromRequest = storage{}

// refreshGrace is how long a refresh token that was just used may be presented again (an app
// racing itself) before it counts as stolen, as for gatehouse's own refresh tokens.
const refreshGrace = 10 * time.Second

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func sum(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func (s storage) now() time.Time { return s.p.clock.Now() }

// CreateAuthRequest stores a validated request. Public clients must use PKCE with S256, and
// nobody may use the "plain" method: it protects nothing against a code seen in transit.
func (s storage) CreateAuthRequest(ctx context.Context, r *oidc.AuthRequest, hintSubject string) (op.AuthRequest, error) {
	c, err := s.p.client(ctx, r.ClientID)
	if err != nil {
		return nil, err
	}
	if r.CodeChallenge != "" && r.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	if c.c.Public && r.CodeChallenge == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("this client is public: PKCE (code_challenge with S256) is required")
	}
	// The time as the store keeps it (UTC, microseconds), so the login step served in place
	// (Provider.authorize) decides as it would on the row read back.
	now := s.now().UTC().Truncate(time.Microsecond)
	a := newAuthRequest(randomToken(), now, r, hintSubject)
	row := &gatehouse.OPAuthRequest{ID: a.ID, ClientID: a.ClientID, Data: a.encode(), CreatedAt: now, ExpiresAt: now.Add(requestTTL)}
	if err := s.p.store.CreateOPAuthRequest(ctx, row); err != nil {
		return nil, err
	}
	memoOf(ctx).putCreated(a)
	return a, nil
}

func (s storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	if c := completed(ctx, id); c != nil {
		return c.req, nil
	}
	return s.p.authRequest(ctx, id)
}

// AuthRequestByCode finds the request of a code. A code presented after it was exchanged is a
// replay: the tokens of the first exchange are revoked (RFC 6749 section 4.1.2).
func (s storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	row, err := s.p.store.OPAuthRequestByCode(ctx, sum(code), s.now())
	if gatehouse.IsCode(err, gatehouse.ENotFound) {
		return nil, oidc.ErrInvalidGrant().WithDescription("the code is unknown or expired")
	}
	if err != nil {
		return nil, err
	}
	if row.ExchangedAt != nil {
		if err := s.p.store.RevokeOPGrant(ctx, row.GrantID, s.now()); err != nil {
			s.p.log.Error("revoking the tokens of a replayed code failed", "client_id", row.ClientID, "err", err)
		}
		s.p.failure(ctx, row.ClientID, 0, "code_reused", nil)
		return nil, oidc.ErrInvalidGrant().WithDescription("the code was already used; the tokens issued for it are revoked")
	}
	a, err := decodeAuthRequest(row)
	if err != nil {
		return nil, err
	}
	memoOf(ctx).putUser(a.Subject, a.UserID)
	return a, nil
}

// SaveAuthCode stores the code. A request complete just signed in is written here with its code
// and the oidc.authorized event, in one transaction.
func (s storage) SaveAuthCode(ctx context.Context, id, code string) error {
	if c := completed(ctx, id); c != nil {
		return s.p.store.CompleteOPAuthRequest(ctx, id, c.req.encode(), sum(code), s.now().Add(codeTTL), c.ev)
	}
	return s.p.store.SetOPAuthCode(ctx, id, sum(code), s.now().Add(codeTTL))
}

// DeleteAuthRequest keeps the row: it is marked exchanged by the grant (CreateOPGrant), so a
// replayed code is recognised until the janitor removes it.
func (s storage) DeleteAuthRequest(context.Context, string) error { return nil }

func (s storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	at, _, exp, err := s.issue(ctx, req, false)
	return at, exp, err
}

func (s storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, _ string) (string, string, time.Time, error) {
	return s.issue(ctx, req, true)
}

// issue creates an access token (and a refresh token): for a code exchange it starts a grant
// tied to the gatehouse session that signed in; for a refresh it adds to the grant.
func (s storage) issue(ctx context.Context, req op.TokenRequest, withRefresh bool) (string, string, time.Time, error) {
	now := s.now()
	var g *grant
	var a *authRequest
	switch r := req.(type) {
	case *authRequest:
		a = r
		g = &grant{ID: randomToken(), SessionID: r.SessionID, UserID: r.UserID, ClientID: r.ClientID, Subject: r.Subject,
			Scopes: r.Scopes, AuthTime: r.AuthTime, AMR: r.AMR, ACR: r.ACR}
	case *grant:
		g = r
	default:
		return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	c, err := s.p.client(ctx, g.ClientID)
	if err != nil {
		return "", "", time.Time{}, err
	}
	accessID := randomToken()
	exp := now.Add(c.accessTTL())
	tokens := []*gatehouse.OPToken{{Key: []byte(accessID), Kind: gatehouse.OPAccessToken, ExpiresAt: exp}}
	var refresh string
	if withRefresh {
		refresh = randomToken()
		tokens = append(tokens, &gatehouse.OPToken{Key: sum(refresh), Kind: gatehouse.OPRefreshToken, ExpiresAt: now.Add(c.refreshTTL())})
	}
	// The event is written in the transaction that stores the tokens: one commit, and no event
	// for tokens that were refused.
	ev := s.p.newEvent(gatehouse.EventOIDCTokenIssued, g.UserID, g.SessionID, map[string]any{"client_id": g.ClientID, "refresh": a == nil})
	if a != nil {
		// The grant ends with the session at the latest: CreateOPGrant lowers ExpiresAt to the
		// session's end, read in its transaction.
		row := &gatehouse.OPGrant{ID: g.ID, ClientID: g.ClientID, UserID: g.UserID, SessionID: g.SessionID, Data: g.encode(),
			CreatedAt: now, ExpiresAt: now.Add(c.refreshTTL())}
		err = s.p.store.CreateOPGrant(ctx, row, a.ID, tokens, ev)
		switch {
		case gatehouse.IsCode(err, gatehouse.EConflict):
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("the code was already used")
		case gatehouse.IsCode(err, gatehouse.ENotFound):
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("the sign-in behind this code has ended")
		case err != nil:
			return "", "", time.Time{}, err
		}
	} else if err := s.p.store.AddOPTokens(ctx, g.ID, tokens, ev); err != nil {
		if gatehouse.IsCode(err, gatehouse.ENotFound) {
			return "", "", time.Time{}, op.ErrInvalidRefreshToken
		}
		return "", "", time.Time{}, err
	}
	return accessID, refresh, exp, nil
}

// TokenRequestByRefreshToken consumes a refresh token. One presented again after the grace
// period is theft: the whole grant is revoked.
func (s storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	now := s.now()
	t, row, err := s.p.store.ConsumeOPToken(ctx, sum(token), now)
	if err != nil || t.Kind != gatehouse.OPRefreshToken || !now.Before(t.ExpiresAt) {
		return nil, op.ErrInvalidRefreshToken
	}
	if t.UsedAt != nil && now.Sub(*t.UsedAt) > refreshGrace {
		if err := s.p.store.RevokeOPGrant(ctx, row.ID, now); err != nil {
			s.p.log.Error("revoking a grant after refresh token reuse failed", "client_id", row.ClientID, "err", err)
		}
		s.p.event(ctx, gatehouse.EventTokenReuseDetected, row.UserID, row.SessionID, map[string]any{"client_id": row.ClientID})
		return nil, op.ErrInvalidRefreshToken
	}
	if !s.p.sessionLive(ctx, row.SessionID) {
		return nil, op.ErrInvalidRefreshToken
	}
	g, err := decodeGrant(row)
	if err != nil {
		return nil, err
	}
	memoOf(ctx).putUser(g.Subject, g.UserID)
	return g, nil
}

// TerminateSession is not used: TerminateSessionFromRequest takes its place.
func (s storage) TerminateSession(context.Context, string, string) error { return nil }

// TerminateSessionFromRequest signs the browser out of gatehouse when the id_token_hint names
// the signed-in user; without a hint it sends the browser to gatehouse's own sign-out page, which
// asks first, so a link cannot sign anyone out.
func (s storage) TerminateSessionFromRequest(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	return s.p.endSession(ctx, req)
}

// RevokeToken revokes an access token (by id) or a refresh token; a refresh token takes its
// whole grant with it (RFC 7009 section 2.1). Unknown tokens are not an error.
func (s storage) RevokeToken(ctx context.Context, tokenOrID, _, clientID string) *oidc.Error {
	for _, key := range [][]byte{[]byte(tokenOrID), sum(tokenOrID)} {
		t, g, err := s.p.store.OPToken(ctx, key)
		if err != nil {
			continue
		}
		if g.ClientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("the token was not issued to this client")
		}
		if t.Kind == gatehouse.OPRefreshToken {
			err = s.p.store.RevokeOPGrant(ctx, g.ID, s.now())
		} else {
			err = s.p.store.DeleteOPToken(ctx, key)
		}
		if err != nil && !gatehouse.IsCode(err, gatehouse.ENotFound) {
			return oidc.ErrServerError()
		}
		return nil
	}
	return nil
}

func (s storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	t, row, err := s.p.store.OPToken(ctx, sum(token))
	if err != nil || t.Kind != gatehouse.OPRefreshToken || row.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	g, err := decodeGrant(row)
	if err != nil {
		return "", "", err
	}
	return g.Subject, token, nil
}

func (s storage) SigningKey(ctx context.Context) (op.SigningKey, error) { return s.p.keys.signer(ctx) }

func (s storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	out := make([]jose.SignatureAlgorithm, len(keyAlgs))
	for i, a := range keyAlgs {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out, nil
}

func (s storage) KeySet(ctx context.Context) ([]op.Key, error) { return s.p.keys.published(ctx) }

func (s storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	return s.p.client(ctx, id)
}

// AuthorizeClientIDSecret compares SHA-256 digests in constant time; the secret has 256 bits of
// entropy, so no slow hash is needed (gatehouse.OPClient).
func (s storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	c, err := s.p.client(ctx, id)
	if err != nil {
		return oidc.ErrInvalidClient().WithDescription("unknown client or wrong secret")
	}
	if c.c.Public || len(c.c.SecretHash) == 0 || subtle.ConstantTimeCompare(sum(secret), c.c.SecretHash) != 1 {
		s.p.failure(ctx, id, 0, "invalid_client_secret", nil)
		return oidc.ErrInvalidClient().WithDescription("unknown client or wrong secret")
	}
	return nil
}

// SetUserinfoFromScopes fills the ID token's claims; the code exchange or refresh that asks has
// just read the grant or request naming the subject's user (requestMemo).
func (s storage) SetUserinfoFromScopes(ctx context.Context, info *oidc.UserInfo, subject, _ string, scopes []string) error {
	return s.p.userinfo(ctx, info, 0, subject, scopes)
}

// SetUserinfoFromToken answers userinfo for an access token that is live, and whose session is.
func (s storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, _, _ string) error {
	g, err := s.p.liveAccessToken(ctx, tokenID)
	if err != nil {
		return err
	}
	return s.p.userinfo(ctx, info, g.UserID, g.Subject, g.Scopes)
}

// SetIntrospectionFromToken answers for a live access token issued to the asking client; any
// other token is inactive to it.
func (s storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, _, clientID string) error {
	g, err := s.p.liveAccessToken(ctx, tokenID)
	if err != nil {
		return err
	}
	if g.ClientID != clientID {
		return errors.New("token of another client")
	}
	info := new(oidc.UserInfo)
	if err := s.p.userinfo(ctx, info, g.UserID, g.Subject, g.Scopes); err != nil {
		return err
	}
	resp.SetUserInfo(info)
	resp.Scope = g.Scopes
	resp.ClientID = g.ClientID
	resp.Audience = g.GetAudience()
	return nil
}

func (s storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("JWT client authentication is not supported")
}

func (s storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("the JWT profile grant is not supported")
}

func (s storage) Health(ctx context.Context) error { return s.p.store.Ping(ctx) }
