package http

import (
	"net/http"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/http/jsonbody"
)

// maxBody bounds every JSON request body; no gatehouse request needs more.
const maxBody = jsonbody.MaxBody

// decode reads one JSON object into v (jsonbody.Decode: strict, bounded, JSON only).
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	return jsonbody.Decode(w, r, v)
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
