package http

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/http/jsonbody"
	"github.com/gatehouse/gatehouse/i18n"
)

// Codes that only the HTTP layer produces.
const (
	codeUnsupportedMedia = jsonbody.CodeUnsupportedMedia
	codeMethodNotAllowed = "method_not_allowed"
	codeCSRF             = "csrf_failed"
)

// statusOf is the one map from error code to HTTP status.
func statusOf(code string) int {
	switch code {
	case gatehouse.EInvalid:
		return http.StatusBadRequest
	case gatehouse.EUnauthorized, gatehouse.EInvalidCredentials, gatehouse.ETokenReuse, gatehouse.ESecondFactorRequired:
		return http.StatusUnauthorized
	case gatehouse.EForbidden, gatehouse.EAccountDisabled, gatehouse.EAccountPending, gatehouse.ENotLinked, codeCSRF:
		return http.StatusForbidden
	case gatehouse.EReauthRequired:
		return http.StatusForbidden
	case gatehouse.ENotFound:
		return http.StatusNotFound
	case codeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case gatehouse.EConflict, gatehouse.ESetupDone, gatehouse.ELastAdmin, gatehouse.EConfusable:
		return http.StatusConflict
	case gatehouse.ETooLarge:
		return http.StatusRequestEntityTooLarge
	case codeUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case gatehouse.ERateLimited:
		return http.StatusTooManyRequests
	case gatehouse.EBusy, gatehouse.EStoreUnavailable:
		return http.StatusServiceUnavailable
	case gatehouse.EMFAUnavailable:
		// Not temporary: the stored secret cannot be decrypted (or no key is configured) until
		// an operator acts, so 500 rather than 503.
		return http.StatusInternalServerError
	case gatehouse.EMailFailed, gatehouse.EProvider:
		return http.StatusBadGateway
	default:
		return http.StatusInternalServerError
	}
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// RetryAfterSeconds is a wait in whole seconds, rounded up: a client that waits what it is told
// must not come back a moment too early.
func RetryAfterSeconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// SetRetryAfter sets Retry-After when err says how long to wait; the API and the pages both
// answer a refusal for too many attempts with it.
func SetRetryAfter(w http.ResponseWriter, err error) {
	var e *gatehouse.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds(e.RetryAfter)))
	}
}

// handlerFunc is an API handler. It writes its answer, or returns an error and writes nothing:
// serve answers the error, so every handler's failures take the one path (statusOf, the JSON
// body, Retry-After, the log line for errors without a code).
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// serve adapts a handlerFunc to net/http; routes.go registers every handler through it (handle).
func (s *Server) serve(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// writeError answers err as JSON, its message in the client's language when it asked for one
// the catalog has (codes and fields stay as they are: they are what programs read).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, r, s.log, err, s.localizer(r))
}

// localizer is the translation of messages for r's language, nil for English or no catalog.
func (s *Server) localizer(r *http.Request) func(string) string {
	if s.catalog == nil {
		return nil
	}
	code, _ := s.catalog.ForRequest(r)
	if code == i18n.Default {
		return nil
	}
	return s.catalog.Printer(code).Localize
}

// writeError answers err as JSON. Errors without a code are logged and shown as "internal" so no
// detail (SQL, paths, secrets) reaches a client. localize, when set, translates the message.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error, localize func(string) string) {
	var e *gatehouse.Error
	if !errors.As(err, &e) {
		if r.Context().Err() != nil {
			// The client went away (closed the connection, gave up waiting): nothing is wrong
			// with the server, and nobody reads the answer.
			log.Info("request ended early: the client went away", "method", r.Method, "path", r.URL.Path)
			w.WriteHeader(499)
			return
		}
		log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		e = &gatehouse.Error{Code: gatehouse.EInternal, Message: "internal error; the server log has details"}
	}
	SetRetryAfter(w, err)
	msg := e.Message
	if localize != nil {
		msg = localize(msg)
	}
	writeJSON(w, statusOf(e.Code), errorBody{Error: errorDetail{Code: e.Code, Message: msg, Field: e.Field}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// StatusOf is the HTTP status of an error code, for the web pages.
func StatusOf(code string) int { return statusOf(code) }
