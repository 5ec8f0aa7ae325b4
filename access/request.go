package access

import (
	"net/url"
	"path"
	"strings"
)

// SplitURL splits an absolute URL (as in X-Original-URL) into its host (with any port) and its
// path and query, without allocating. ok is false for anything that is not http(s)://host...
func SplitURL(raw string) (host, uri string, ok bool) {
	rest, found := strings.CutPrefix(raw, "https://")
	if !found {
		if rest, found = strings.CutPrefix(raw, "http://"); !found {
			return "", "", false
		}
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		return rest, "/", rest != ""
	}
	host, uri = rest[:end], rest[end:]
	if host == "" || strings.ContainsAny(host, "@\\") {
		// user info in the authority, or a backslash some parsers read as a separator:
		// ambiguous, so not a URL to decide on.
		return "", "", false
	}
	return host, uri, true
}

// CleanPath returns the path of a request URI (the query and fragment cut off) in the form the
// rules are matched against: percent-decoded, backslashes read as slashes, dot segments and
// doubled slashes resolved, a trailing slash kept. An app behind the proxy may resolve
// "/public/../admin" to "/admin"; matching the raw text would let that request pass as
// "/public/...". The common case, a path that is already clean, costs no allocation. ok is
// false for a URI that is not a path or does not decode.
func CleanPath(uri string) (string, bool) {
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	if uri == "" {
		return "/", true
	}
	if uri[0] != '/' {
		return "", false
	}
	if !needsCleaning(uri) {
		return uri, true
	}
	p := uri
	if strings.IndexByte(p, '%') >= 0 {
		d, err := url.PathUnescape(p)
		if err != nil || strings.IndexByte(d, 0) >= 0 {
			return "", false
		}
		p = d
	}
	p = strings.ReplaceAll(p, "\\", "/")
	trailing := strings.HasSuffix(p, "/")
	p = path.Clean("/" + p)
	if trailing && p != "/" {
		p += "/"
	}
	return p, true
}

func needsCleaning(p string) bool {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '%', '\\':
			return true
		case '/':
			if i+1 < len(p) && p[i+1] == '/' {
				return true
			}
			if i+1 < len(p) && p[i+1] == '.' && (i+2 == len(p) || p[i+2] == '/' || p[i+2] == '.' && (i+3 == len(p) || p[i+3] == '/')) {
				return true
			}
		}
	}
	return false
}
