package auth_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	otptotp "github.com/pquerna/otp/totp"
)

func TestLoginWrongAndUnknownLookAlikeAndDisabledIsSaidOnlyAfterThePassword(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	admin := a.setup()
	bob := a.user(admin, "bob")
	_, wrong := a.SignIn.Login(ctx, auth.LoginRequest{Login: "bob", Password: "not the password"}, a.Meta)
	_, unknown := a.SignIn.Login(ctx, auth.LoginRequest{Login: "nobody", Password: "not the password"}, a.Meta)
	if code(wrong) != gatehouse.EInvalidCredentials || wrong.Error() != unknown.Error() {
		t.Fatalf("wrong password %v, unknown user %v: want the same invalid_credentials", wrong, unknown)
	}
	yes := true
	if _, err := a.Admin.UpdateUser(ctx, admin, bob.User.ID, auth.UserPatch{Disabled: &yes}, a.Meta); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SignIn.Login(ctx, auth.LoginRequest{Login: "bob", Password: "not the password"}, a.Meta); code(err) != gatehouse.EInvalidCredentials {
		t.Fatalf("disabled account, wrong password: %v (must not reveal the account is disabled)", err)
	}
	if _, err := a.SignIn.Login(ctx, auth.LoginRequest{Login: "bob", Password: testPW}, a.Meta); code(err) != gatehouse.EAccountDisabled {
		t.Fatalf("disabled account, right password: %v", err)
	}
	// Disabling ended bob's session: his access token is dead at once.
	if _, err := a.Core.AuthenticateBearer(ctx, a.tokens["bob"].AccessToken, a.client); code(err) != gatehouse.EUnauthorized {
		t.Fatalf("bearer of a disabled user: %v", err)
	}
}

func TestLoginAddressBudgetIsSpentOnlyByFailures(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	a.setup()
	burst := a.Core.Settings().LoginBurst
	for range burst + 3 {
		if _, err := a.SignIn.Login(ctx, auth.LoginRequest{Login: "alice", Password: testPW}, a.Meta); err != nil {
			t.Fatalf("a successful sign-in was refused: %v", err)
		}
	}
	var err error
	for range burst + 1 {
		_, err = a.SignIn.Login(ctx, auth.LoginRequest{Login: "alice", Password: "wrong password"}, a.Meta)
	}
	if code(err) != gatehouse.ERateLimited {
		t.Fatalf("after %d failures from one address: %v, want rate_limited", burst+1, err)
	}
	var ge *gatehouse.Error
	if !asError(err, &ge) || ge.RetryAfter <= 0 {
		t.Fatalf("rate_limited without Retry-After: %#v", err)
	}
	// The refill restores the budget.
	a.Clock.Advance(time.Duration(burst+1) * a.Core.Settings().LoginRefill)
	if _, err := a.SignIn.Login(ctx, auth.LoginRequest{Login: "alice", Password: testPW}, a.Meta); err != nil {
		t.Fatalf("after the refill: %v", err)
	}
}

func TestRefreshRotatesToleratesARaceAndEndsTheSessionOnReuse(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	a.setup()
	first := a.tokens["alice"]
	second, err := a.Core.Refresh(ctx, first.RefreshToken, a.Meta)
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken == first.RefreshToken || second.AccessToken == "" {
		t.Fatal("refresh did not rotate the tokens")
	}
	// A second tab presenting the same token within the grace gets tokens too.
	a.Clock.Advance(auth.RefreshGrace / 2)
	if _, err := a.Core.Refresh(ctx, first.RefreshToken, a.Meta); err != nil {
		t.Fatalf("reuse within the grace: %v", err)
	}
	// After the grace the same token is a replay: the session ends, every token of it dies.
	a.Clock.Advance(auth.RefreshGrace)
	if _, err := a.Core.Refresh(ctx, first.RefreshToken, a.Meta); code(err) != gatehouse.ETokenReuse {
		t.Fatalf("reuse after the grace: %v, want %s", err, gatehouse.ETokenReuse)
	}
	if _, err := a.Core.Refresh(ctx, second.RefreshToken, a.Meta); code(err) != gatehouse.EUnauthorized {
		t.Fatalf("the rotated token after reuse: %v", err)
	}
	if _, err := a.Core.AuthenticateBearer(ctx, second.AccessToken, a.client); code(err) != gatehouse.EUnauthorized {
		t.Fatalf("an access token of the ended session: %v", err)
	}
	if n := a.events(gatehouse.EventTokenReuseDetected); n != 1 {
		t.Fatalf("%d token.reuse_detected events, want 1", n)
	}
}

func TestRefreshAfterTheIdleTimeoutEndsTheSession(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	a.setup()
	a.Clock.Advance(a.Core.Settings().IdleTimeout + time.Minute)
	if _, err := a.Core.Refresh(ctx, a.tokens["alice"].RefreshToken, a.Meta); code(err) != gatehouse.EUnauthorized {
		t.Fatalf("refresh after the idle timeout: %v", err)
	}
	s, err := a.Store.SessionByID(ctx, a.tokens["alice"].Session.ID)
	if err != nil || s.RevokedAt == nil {
		t.Fatalf("the idle session is not revoked: %+v, %v", s, err)
	}
}

func TestLogoutAndSignOutOthersEndSessionsAtOnce(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	admin := a.setup()
	other, err := a.SignIn.Login(ctx, auth.LoginRequest{Login: "alice", Password: testPW}, a.Meta)
	if err != nil {
		t.Fatal(err)
	}
	third, err := a.SignIn.Login(ctx, auth.LoginRequest{Login: "alice", Password: testPW}, a.Meta)
	if err != nil {
		t.Fatal(err)
	}
	// Cookie sessions are cached by the request check; ending one must drop it from the cache.
	if _, err := a.Core.AuthenticateCookie(ctx, third.CookieToken, a.client); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Account.SignOutOthers(ctx, admin, a.Meta); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Core.AuthenticateBearer(ctx, other.AccessToken, a.client); code(err) != gatehouse.EUnauthorized {
		t.Fatalf("another session after sign-out-others: %v", err)
	}
	if _, err := a.Core.AuthenticateCookie(ctx, third.CookieToken, a.client); code(err) != gatehouse.EUnauthorized {
		t.Fatalf("a cached cookie session after sign-out-others: %v", err)
	}
	if _, err := a.Core.AuthenticateBearer(ctx, a.tokens["alice"].AccessToken, a.client); err != nil {
		t.Fatalf("the current session after sign-out-others: %v", err)
	}
	list, err := a.Account.Sessions(ctx, admin)
	if err != nil || len(list) != 1 || !list[0].Current {
		t.Fatalf("sessions after sign-out-others: %+v, %v", list, err)
	}
	if err := a.Core.Logout(ctx, admin, a.Meta); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Core.AuthenticateBearer(ctx, a.tokens["alice"].AccessToken, a.client); code(err) != gatehouse.EUnauthorized {
		t.Fatalf("after logout: %v", err)
	}
	if _, err := a.Core.Refresh(ctx, a.tokens["alice"].RefreshToken, a.Meta); code(err) != gatehouse.EUnauthorized {
		t.Fatalf("refresh after logout: %v", err)
	}
}

func TestAnotherInstanceSeesARevocationThroughTheFeed(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	admin := a.setup()
	b := a.sibling()
	if _, err := b.Core.AuthenticateBearer(ctx, a.tokens["alice"].AccessToken, a.client); err != nil {
		t.Fatalf("the second instance before logout: %v", err)
	}
	if err := a.Core.Logout(ctx, admin, a.Meta); err != nil {
		t.Fatal(err)
	}
	if err := b.Background.PollChanges(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Core.AuthenticateBearer(ctx, a.tokens["alice"].AccessToken, a.client); code(err) != gatehouse.EUnauthorized {
		t.Fatalf("the second instance after logout and one feed poll: %v", err)
	}
}

var linkToken = regexp.MustCompile(`token=([A-Za-z0-9_-]+)`)

// mailedToken is the token of the newest mail's link.
func (a *app) mailedToken() string {
	a.t.Helper()
	ms, _, err := a.Store.ListMail(context.Background(), "", 0, 1)
	if err != nil || len(ms) == 0 {
		a.t.Fatalf("no mail: %v", err)
	}
	m := linkToken.FindStringSubmatch(ms[0].Text)
	if m == nil {
		a.t.Fatalf("no link in %q", ms[0].Text)
	}
	return m[1]
}

func TestPasswordResetLinkExpiresAndWorksOnce(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	a.setup()
	a.configureMail()
	if err := a.Mail.ForgotPassword(ctx, "alice@example.com", a.Meta); err != nil {
		t.Fatal(err)
	}
	tok := a.mailedToken()
	if err := a.Mail.CheckLink(ctx, gatehouse.TokenPasswordReset, tok); err != nil {
		t.Fatalf("a fresh link: %v", err)
	}
	// Unknown addresses get the same answer and no mail.
	if err := a.Mail.ForgotPassword(ctx, "nobody@example.com", a.Meta); err != nil {
		t.Fatalf("unknown address: %v", err)
	}
	a.Clock.Advance(a.Core.Settings().PasswordResetTTL + time.Second)
	if err := a.Mail.CheckLink(ctx, gatehouse.TokenPasswordReset, tok); code(err) != gatehouse.EInvalid {
		t.Fatalf("an expired link: %v", err)
	}
	if err := a.Mail.ResetPasswordWithLink(ctx, tok, "a brand new password", a.Meta); code(err) != gatehouse.EInvalid {
		t.Fatalf("resetting with an expired link: %v", err)
	}
	if _, err := a.SignIn.Login(ctx, auth.LoginRequest{Login: "alice", Password: testPW}, a.Meta); err != nil {
		t.Fatalf("the old password after a refused reset: %v", err)
	}
	// A new link works once, ends every session and changes the password.
	a.Clock.Advance(a.Core.Settings().ResetRequestCooldown)
	if err := a.Mail.ForgotPassword(ctx, "alice@example.com", a.Meta); err != nil {
		t.Fatal(err)
	}
	tok = a.mailedToken()
	if err := a.Mail.ResetPasswordWithLink(ctx, tok, "a brand new password", a.Meta); err != nil {
		t.Fatalf("reset: %v", err)
	}
	if err := a.Mail.ResetPasswordWithLink(ctx, tok, "yet another password", a.Meta); code(err) != gatehouse.EInvalid {
		t.Fatalf("the same link twice: %v", err)
	}
	if _, err := a.Core.AuthenticateBearer(ctx, a.tokens["alice"].AccessToken, a.client); code(err) != gatehouse.EUnauthorized {
		t.Fatalf("a session from before the reset: %v", err)
	}
	if _, err := a.SignIn.Login(ctx, auth.LoginRequest{Login: "alice", Password: "a brand new password"}, a.Meta); err != nil {
		t.Fatalf("the new password: %v", err)
	}
}

func TestMFAStepSignsInOnceWithARightCodeAndCountsWrongOnes(t *testing.T) {
	a := newApp(t)
	ctx := context.Background()
	admin := a.setup()
	setup, err := a.Account.BeginTOTP(ctx, admin, a.Meta)
	if err != nil {
		t.Fatal(err)
	}
	code0, err := otptotp.GenerateCode(setup.Secret, a.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	codes, err := a.Account.ConfirmTOTP(ctx, admin, code0, a.Meta)
	if err != nil || len(codes) != auth.RecoveryCodeCount {
		t.Fatalf("confirm: %d codes, %v", len(codes), err)
	}
	a.Clock.Advance(time.Minute) // the next time step: the code used above cannot be replayed
	pending, err := a.SignIn.Login(ctx, auth.LoginRequest{Login: "alice", Password: testPW}, a.Meta)
	if err != nil || pending.MFA == nil || pending.AccessToken != "" {
		t.Fatalf("password step with MFA on: %+v, %v", pending, err)
	}
	_, err = a.SignIn.LoginMFA(ctx, auth.MFALoginRequest{Token: pending.MFA.Token, Code: "000000"}, a.Meta)
	if code(err) != gatehouse.EInvalidCredentials {
		t.Fatalf("a wrong code: %v", err)
	}
	right, _ := otptotp.GenerateCode(setup.Secret, a.Clock.Now())
	done, err := a.SignIn.LoginMFA(ctx, auth.MFALoginRequest{Token: pending.MFA.Token, Code: right}, a.Meta)
	if err != nil || done.AccessToken == "" || done.Session.AuthMethod != gatehouse.AuthTOTP {
		t.Fatalf("the right code: %+v, %v", done, err)
	}
	if _, err := a.SignIn.LoginMFA(ctx, auth.MFALoginRequest{Token: pending.MFA.Token, Code: right}, a.Meta); code(err) != gatehouse.EUnauthorized {
		t.Fatalf("the challenge used twice: %v", err)
	}
	// A recovery code works once.
	pending, _ = a.SignIn.Login(ctx, auth.LoginRequest{Login: "alice", Password: testPW}, a.Meta)
	rc, err := a.SignIn.LoginMFA(ctx, auth.MFALoginRequest{Token: pending.MFA.Token, RecoveryCode: codes[0]}, a.Meta)
	if err != nil || *rc.RecoveryCodesLeft != auth.RecoveryCodeCount-1 {
		t.Fatalf("a recovery code: %+v, %v", rc, err)
	}
	pending, _ = a.SignIn.Login(ctx, auth.LoginRequest{Login: "alice", Password: testPW}, a.Meta)
	if _, err := a.SignIn.LoginMFA(ctx, auth.MFALoginRequest{Token: pending.MFA.Token, RecoveryCode: codes[0]}, a.Meta); code(err) != gatehouse.EInvalidCredentials {
		t.Fatalf("a recovery code used twice: %v", err)
	}
}
