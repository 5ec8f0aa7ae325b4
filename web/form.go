package web

import (
	"errors"
	"net/http"

	"github.com/gatehouse/gatehouse"
)

// form is what a page shows of a form it answers: the values to show again, a message next to
// each field and one message for the whole form. A handler that refuses a submission fills it
// (keep, refuse) and renders the page again with the error's status; view embeds it, so every
// template reads .Form, .Errors and .Error the same way. Its maps are made on first write, and
// render gives templates empty ones, so a view literal need not set them.
type form struct {
	Error  string            // a message for the whole form
	Errors map[string]string // messages next to fields, by field name
	Form   map[string]string // values to show again after an error
}

// keep shows the named fields of the posted form again. Never a password or a code: a refused
// form asks for those anew.
func (f *form) keep(r *http.Request, names ...string) {
	for _, n := range names {
		f.set(n, r.PostForm.Get(n))
	}
}

// set shows value in the field name.
func (f *form) set(name, value string) {
	if f.Form == nil {
		f.Form = map[string]string{}
	}
	f.Form[name] = value
}

// fieldError puts msg next to the field name.
func (f *form) fieldError(name, msg string) {
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	f.Errors[name] = msg
}

// refuse shows err: a coded error that names a field next to that field, any other coded error
// for the whole form, and an error without a code as "Something went wrong" (the handler logs
// or fails on those before: see pages.fail).
func (f *form) refuse(err error) { f.refuseAs("", err) }

// refuseAs is refuse for a form whose fields carry a prefix on the page ("mfa_", "test_"): a
// field named in the error goes next to prefix+field.
func (f *form) refuseAs(prefix string, err error) {
	var e *gatehouse.Error
	switch {
	case errors.As(err, &e) && e.Field != "":
		f.fieldError(prefix+e.Field, e.Message)
	case errors.As(err, &e):
		f.Error = e.Message
	default:
		f.Error = "Something went wrong; the server log has details."
	}
}
