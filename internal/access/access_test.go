package access_test

import (
	"context"
	"slices"
	"testing"

	"linli/internal/access"
)

func TestSubtree(t *testing.T) {
	t.Parallel()
	t.Run("the upper bound is the next prefix of the same length", func(t *testing.T) {
		for prefix, hi := range map[string]string{"33": "34", "3301": "3302", "3309": "3310", "330106": "330107", "330199": "330200", "99": "A", "": "A"} {
			if s := access.Subtree(prefix); s != (access.Scope{Lo: prefix, Hi: hi}) {
				t.Errorf("Subtree(%q) = %+v, want hi %q", prefix, s, hi)
			}
		}
	})
	t.Run("a scope holds its subtree and nothing else", func(t *testing.T) {
		s := access.Subtree("3309")
		for code, in := range map[string]bool{"3309": true, "330901001001": true, "3310": false, "330899": false, "3310010": false, "33": false} {
			if s.Contains(code) != in {
				t.Errorf("3309 contains %s: %v, want %v", code, !in, in)
			}
		}
	})
	t.Run("nothing holds no code", func(t *testing.T) {
		for _, code := range []string{"", "33", "330106002051", "A", "~"} {
			if access.Nothing.Contains(code) {
				t.Errorf("Nothing contains %q", code)
			}
		}
	})
}

func TestBusinessScope(t *testing.T) {
	t.Parallel()
	for _, k := range []struct {
		name string
		p    *access.Principal
		want access.Scope
	}{
		{"a worker reads its community", &access.Principal{Role: access.CommunityWorker, Division: "330106002051"}, access.Subtree("330106002051")},
		{"an officer reads its county", &access.Principal{Role: access.Officer, Division: "330106"}, access.Subtree("330106")},
		{"a provider reads its division", &access.Principal{Role: access.Provider, Division: "330106002"}, access.Subtree("330106002")},
		{"the system administrator reads no business row", &access.Principal{Role: access.SysAdmin, Division: "33"}, access.Nothing},
		{"the security administrator reads no business row", &access.Principal{Role: access.SecAdmin, Division: "33"}, access.Nothing},
		{"the auditor reads no business row", &access.Principal{Role: access.Auditor, Division: "33"}, access.Nothing},
		{"an anonymous caller reads nothing", nil, access.Nothing},
	} {
		t.Run(k.name, func(t *testing.T) {
			if got := access.BusinessScope(k.p); got != k.want {
				t.Errorf("got %+v, want %+v", got, k.want)
			}
			if got := access.ScopeOf(access.With(context.Background(), k.p)); got != k.want {
				t.Errorf("ScopeOf: got %+v, want %+v", got, k.want)
			}
		})
	}
}

func TestPrincipalInContext(t *testing.T) {
	t.Parallel()
	if access.From(context.Background()) != nil {
		t.Error("an empty context has a principal")
	}
	p := &access.Principal{Username: "wang", Role: access.GridWorker}
	if got := access.From(access.With(context.Background(), p)); got != p {
		t.Errorf("got %+v", got)
	}
	op := access.Operator()
	if op.Role != access.SysAdmin || op.Division != "33" || op.UserID != "" {
		t.Errorf("operator %+v", op)
	}
	op.Division = "3301"
	if access.Operator().Division != "33" {
		t.Error("a change to one operator principal leaked into the next")
	}
}

func TestTokenScope(t *testing.T) {
	t.Parallel()
	for _, k := range []struct {
		name    string
		p       access.Principal
		pattern string
		want    bool
	}{
		{"a session calls anything its role allows", access.Principal{Role: access.Officer}, "POST /api/v1/residents", true},
		{"a read token calls every GET", access.Principal{TokenID: "t", Scope: "read"}, "GET /api/v1/residents", true},
		{"a read token writes nothing", access.Principal{TokenID: "t", Scope: "read"}, "POST /api/v1/residents", false},
		{"a named operation is allowed", access.Principal{TokenID: "t", Scope: "read,POST /api/v1/requests"}, "POST /api/v1/requests", true},
		{"only that one", access.Principal{TokenID: "t", Scope: "POST /api/v1/requests"}, "GET /api/v1/requests", false},
		{"an empty scope allows nothing", access.Principal{TokenID: "t"}, "GET /api/v1/me", false},
		{"a prefix is not a name", access.Principal{TokenID: "t", Scope: "POST /api/v1/requests"}, "POST /api/v1/requests/{id}/transition", false},
	} {
		t.Run(k.name, func(t *testing.T) {
			if got := k.p.Allows(k.pattern); got != k.want {
				t.Errorf("Allows(%q) with scope %q = %v", k.pattern, k.p.Scope, got)
			}
		})
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	t.Run("every listed role is valid, labelled and of one kind", func(t *testing.T) {
		business := 0
		for _, r := range access.Roles {
			zh, en := r.Label()
			if !r.Valid() || zh == string(r) || en == string(r) {
				t.Errorf("%s: valid %v, labels %q %q", r, r.Valid(), zh, en)
			}
			if r.Business() {
				business++
			}
		}
		if len(access.Roles) != 8 || business != 5 {
			t.Errorf("%d roles, %d business", len(access.Roles), business)
		}
	})
	t.Run("an unknown role is invalid and labelled by its name", func(t *testing.T) {
		r := access.Role("mayor")
		if zh, en := r.Label(); r.Valid() || r.Business() || zh != "mayor" || en != "mayor" {
			t.Errorf("mayor: %v %q %q", r.Valid(), zh, en)
		}
	})
	t.Run("village-level roles are bound to a village", func(t *testing.T) {
		for r, level := range map[access.Role]int{access.Resident: 5, access.GridWorker: 5, access.CommunityWorker: 5, access.Officer: 0, access.SysAdmin: 0} {
			if got := r.RequiredLevel(); got != level {
				t.Errorf("%s: level %d, want %d", r, got, level)
			}
		}
	})
	t.Run("the roles that read personal data are those of the registry's workers", func(t *testing.T) {
		var got []access.Role
		for _, r := range access.Roles {
			if r.PersonalData() {
				got = append(got, r)
			}
		}
		if want := []access.Role{access.GridWorker, access.CommunityWorker, access.Officer}; !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
	t.Run("a division encloses itself and its descendants", func(t *testing.T) {
		for _, k := range []struct {
			a, c string
			want bool
		}{{"33", "330106", true}, {"330106", "330106", true}, {"3301", "3302", false}, {"330106002051", "330106", false}} {
			if got := access.Encloses(k.a, k.c); got != k.want {
				t.Errorf("Encloses(%s, %s) = %v", k.a, k.c, got)
			}
		}
	})
}
