// Package access defines who is acting — the principal carried in the request
// context — and the division subtree each principal may touch. Every store
// that reads or writes business rows takes its scope from here, inside SQL.
package access

import (
	"context"
	"strings"
)

// Role identifiers, as used by the CLI and the API.
type Role string

const (
	Resident        Role = "resident"
	GridWorker      Role = "grid_worker"
	CommunityWorker Role = "community_worker"
	Officer         Role = "officer"
	Provider        Role = "provider"
	SysAdmin        Role = "sysadmin"
	SecAdmin        Role = "secadmin"
	Auditor         Role = "auditor"
)

// Roles lists every role in display order.
var Roles = []Role{Resident, GridWorker, CommunityWorker, Officer, Provider, SysAdmin, SecAdmin, Auditor}

// Valid tells whether r is a known role.
func (r Role) Valid() bool {
	for _, k := range Roles {
		if k == r {
			return true
		}
	}
	return false
}

// Label is the bilingual name of a role.
func (r Role) Label() (zh, en string) {
	switch r {
	case Resident:
		return "居民", "Resident"
	case GridWorker:
		return "网格员", "Grid worker"
	case CommunityWorker:
		return "社区工作者", "Community worker"
	case Officer:
		return "民政干部", "Officer"
	case Provider:
		return "服务机构", "Service provider"
	case SysAdmin:
		return "系统管理员", "System administrator"
	case SecAdmin:
		return "安全管理员", "Security administrator"
	case Auditor:
		return "安全审计员", "Auditor"
	}
	return string(r), string(r)
}

// Business tells whether the role works with business rows (registry,
// requests, indicators). The three admin duties do not: separation of duties
// keeps personal data away from those who manage the system.
func (r Role) Business() bool {
	switch r {
	case Resident, GridWorker, CommunityWorker, Officer, Provider:
		return true
	}
	return false
}

// PersonalData tells whether the role reads other residents' personal data
// (the registry's people, households and requests). Making or handing over
// such an account takes a second person: the security administrator.
func (r Role) PersonalData() bool {
	switch r {
	case GridWorker, CommunityWorker, Officer:
		return true
	}
	return false
}

// RequiredLevel is the division level an account of the role must be bound
// to, or 0 where any level will do.
func (r Role) RequiredLevel() int {
	switch r {
	case Resident, GridWorker, CommunityWorker:
		return 5
	}
	return 0
}

// Principal is the authenticated actor of a request.
type Principal struct {
	UserID   string
	Username string
	Role     Role
	Division string // division code the account (or token) is bound to
	TokenID  string // set when acting through an API token
	// Scope limits a token to operations, comma-separated: "read" (every
	// GET) and named operations ("POST /api/v1/…", as routed). Empty for a
	// session.
	Scope string
	// Pending names a step the user must take before anything else:
	// "password" (change the one-time password) or "totp" (enrol a second
	// factor that the role requires).
	Pending string
}

// ScopeRead is the scope of every read (GET) operation.
const ScopeRead = "read"

// Allows tells whether the principal may call the API operation routed as
// pattern ("METHOD /api/v1/…"): a session may call any (its role decides),
// a token only those its scope names.
func (p *Principal) Allows(pattern string) bool {
	if p.TokenID == "" {
		return true
	}
	for _, s := range strings.Split(p.Scope, ",") {
		if s == pattern || (s == ScopeRead && strings.HasPrefix(pattern, "GET ")) {
			return true
		}
	}
	return false
}

type ctxKey struct{}

// With returns ctx carrying p.
func With(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// From returns the principal in ctx, or nil.
func From(ctx context.Context) *Principal {
	p, _ := ctx.Value(ctxKey{}).(*Principal)
	return p
}

// Scope is a half-open range of division codes [Lo, Hi): a subtree.
// Codes are digit strings whose prefixes are their ancestors, so
// "code >= Lo AND code < Hi" selects exactly the subtree, using an index.
type Scope struct{ Lo, Hi string }

// Subtree returns the scope of all codes starting with prefix. The upper
// bound is the next prefix of the same length ("3301" → "3302", "3309" →
// "3310"), digits only, so the range holds under any collation the database
// uses; past the last prefix ("99") it is "A", after every digit.
func Subtree(prefix string) Scope {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < '9' {
			b[i]++
			return Scope{Lo: prefix, Hi: string(b)}
		}
		b[i] = '0'
	}
	return Scope{Lo: prefix, Hi: "A"}
}

// Contains tells whether code lies in the scope.
func (s Scope) Contains(code string) bool { return code >= s.Lo && code < s.Hi }

// Nothing is a scope that matches no code.
var Nothing = Scope{Lo: "~", Hi: "~"}

// BusinessScope is the subtree whose business rows p may read: its own
// division's subtree for business roles, nothing for the admin roles or an
// anonymous caller.
func BusinessScope(p *Principal) Scope {
	if p == nil || !p.Role.Business() {
		return Nothing
	}
	return Subtree(p.Division)
}

// ScopeOf is BusinessScope of the principal in ctx.
func ScopeOf(ctx context.Context) Scope { return BusinessScope(From(ctx)) }

// Encloses tells whether ancestor is code itself or one of its ancestors.
func Encloses(ancestor, code string) bool { return strings.HasPrefix(code, ancestor) }

// Operator is the principal of the command line: the person at the
// machine's console, with the system administrator's duties province-wide.
func Operator() *Principal {
	return &Principal{Username: "cli", Role: SysAdmin, Division: "33"}
}
