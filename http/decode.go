package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

// maxBody bounds every JSON request body; no gatehouse request needs more.
const maxBody = 64 << 10

// decode reads one JSON object into v: the content type must be JSON, unknown fields, wrong
// types, trailing data and bodies over maxBody are refused with a message naming the problem.
// Requiring application/json also means a plain HTML form on another site can never post here.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return gatehouse.Errorf(codeUnsupportedMedia, "send a JSON body with Content-Type: application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return gatehouse.Errorf(gatehouse.EInvalid, "the body must hold exactly one JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return gatehouse.Errorf(gatehouse.EInvalid, "the body must hold exactly one JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return gatehouse.Errorf(gatehouse.ETooLarge, "the body is larger than %d bytes", maxBody)
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

// PathID reads the numeric path parameter name; anything else is notFound (a not_found error),
// since no object has such an ID. The API and the pages share it.
func PathID(r *http.Request, name, notFound string) (int64, error) {
	id, err := auth.ParseID(r.PathValue(name))
	if err != nil {
		return 0, gatehouse.Errorf(gatehouse.ENotFound, "%s", notFound)
	}
	return id, nil
}
