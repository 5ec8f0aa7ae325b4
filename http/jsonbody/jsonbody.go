// Package jsonbody reads JSON request bodies strictly. It is a package of its own so that its
// fuzz target builds in seconds.
package jsonbody

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/gatehouse/gatehouse"
)

// MaxBody bounds every JSON request body; no gatehouse request needs more.
const MaxBody = 64 << 10

// CodeUnsupportedMedia is the error code for a body that is not JSON; http maps it to 415.
const CodeUnsupportedMedia = "unsupported_media_type"

// Decode reads one JSON object into v: the content type must be JSON, unknown fields, wrong
// types, trailing data and bodies over MaxBody are refused with a message naming the problem.
// Requiring application/json also means a plain HTML form on another site can never post here.
func Decode(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return gatehouse.Errorf(CodeUnsupportedMedia, "send a JSON body with Content-Type: application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Error(err)
	}
	if dec.More() {
		return gatehouse.Errorf(gatehouse.EInvalid, "the body must hold exactly one JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return gatehouse.Errorf(gatehouse.EInvalid, "the body must hold exactly one JSON object")
	}
	return nil
}

// Error turns a decoding or body-reading error into a coded error naming the problem.
func Error(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return gatehouse.Errorf(gatehouse.ETooLarge, "the body is larger than %d bytes", MaxBody)
	case errors.As(err, &syn):
		return gatehouse.Errorf(gatehouse.EInvalid, "malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return gatehouse.Errorf(gatehouse.EInvalid, "the body must be a JSON object")
		}
		return &gatehouse.Error{Code: gatehouse.EInvalid, Field: field, Message: fmt.Sprintf("%s must be a %s", field, jsonKind(typ.Type.Kind().String()))}
	case errors.Is(err, io.EOF):
		return gatehouse.Errorf(gatehouse.EInvalid, "the body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return gatehouse.Errorf(gatehouse.EInvalid, "malformed JSON: the body ends too early")
	default:
		// DisallowUnknownFields: `json: unknown field "x"`.
		var name string
		if _, scanErr := fmt.Sscanf(err.Error(), "json: unknown field %q", &name); scanErr == nil {
			return &gatehouse.Error{Code: gatehouse.EInvalid, Field: name, Message: fmt.Sprintf("unknown field %q", name)}
		}
		return gatehouse.Errorf(gatehouse.EInvalid, "malformed JSON body")
	}
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "bool":
		return "boolean (true or false)"
	case "int", "int64", "int32", "float64", "uint", "uint64":
		return "number"
	case "map", "struct":
		return "object"
	case "slice":
		return "list"
	}
	return k
}
