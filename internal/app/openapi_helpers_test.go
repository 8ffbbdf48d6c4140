package app_test

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"

	"linli/internal/apptest"
)

// openAPI is the part of the generated document these tests read.
type openAPI struct {
	Paths      map[string]map[string]operation `json:"paths"`
	Components struct {
		Schemas map[string]map[string]any `json:"schemas"`
	} `json:"components"`
}

type operation struct {
	OperationID string `json:"operationId"`
	Deprecated  bool   `json:"deprecated"`
	Parameters  []struct {
		Name     string `json:"name"`
		In       string `json:"in"`
		Required bool   `json:"required"`
	} `json:"parameters"`
	RequestBody *struct {
		Content map[string]struct {
			Schema map[string]any `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
	Responses map[string]struct {
		Content map[string]struct {
			Schema map[string]any `json:"schema"`
		} `json:"content"`
	} `json:"responses"`
}

// endpoint is one documented operation.
type endpoint struct {
	Method, Path string
	Op           operation
}

// documented reads the live document and lists its operations, sorted.
func documented(t *testing.T, e *apptest.Env) (openAPI, []endpoint) {
	t.Helper()
	doc := apptest.JSON[openAPI](t, e.Client(), "GET", "/api/v1/openapi.json", nil, 200)
	var out []endpoint
	for path, ops := range doc.Paths {
		for m, op := range ops {
			out = append(out, endpoint{strings.ToUpper(m), path, op})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path+out[i].Method < out[j].Path+out[j].Method })
	return doc, out
}

// jsonBody is an operation's JSON request body schema (nil when it takes
// none).
func (ep endpoint) jsonBody() map[string]any {
	if ep.Op.RequestBody == nil {
		return nil
	}
	return ep.Op.RequestBody.Content["application/json"].Schema
}

// fill puts plausible values into a path's parameters: real codes for
// divisions and years, a placeholder elsewhere.
func fill(path string) string {
	return regexp.MustCompile(`\{[a-z_]+\}`).ReplaceAllStringFunc(path, func(param string) string {
		if v, ok := map[string]string{"{code}": apptest.County, "{year}": "2026", "{username}": "admin", "{kind}": "residents"}[param]; ok {
			return v
		}
		return "x"
	})
}

// stringLeaves lists the paths of the string values (and, as "path{}",
// of the keys of free-form objects) a body of schema s holds, in the
// notation the edge check names them: "a.b", "a[0]".
func stringLeaves(s map[string]any, path string) []string {
	switch typeOf(s) {
	case "string":
		return []string{path}
	case "array":
		items, _ := s["items"].(map[string]any)
		return stringLeaves(items, path+"[0]")
	case "object":
		var out []string
		props, _ := s["properties"].(map[string]any)
		names := make([]string, 0, len(props))
		for n := range props {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			out = append(out, stringLeaves(props[n].(map[string]any), join(path, n))...)
		}
		if extra, ok := s["additionalProperties"].(map[string]any); ok {
			out = append(out, path+"{}")
			out = append(out, stringLeaves(extra, join(path, "k"))...)
		}
		return out
	}
	return nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// typeOf is a schema's type, the non-null one of a nullable pair.
func typeOf(s map[string]any) string {
	switch t := s["type"].(type) {
	case string:
		return t
	case []any:
		for _, x := range t {
			if x != "null" {
				return x.(string)
			}
		}
	}
	return ""
}

// sample builds a body of schema s whose string (or key) at target is bad
// and every other value plain.
func sample(s map[string]any, path, target, bad string) any {
	switch typeOf(s) {
	case "string":
		if path == target {
			return bad
		}
		return "ok"
	case "integer", "number":
		return 1
	case "boolean":
		return false
	case "array":
		items, _ := s["items"].(map[string]any)
		return []any{sample(items, path+"[0]", target, bad)}
	case "object":
		out := map[string]any{}
		props, _ := s["properties"].(map[string]any)
		for n, p := range props {
			out[n] = sample(p.(map[string]any), join(path, n), target, bad)
		}
		if extra, ok := s["additionalProperties"].(map[string]any); ok {
			key := "k"
			if target == path+"{}" {
				key = bad
			}
			out[key] = sample(extra, join(path, "k"), target, bad)
		}
		return out
	}
	return nil
}

// mustJSON encodes v for a request body.
func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
