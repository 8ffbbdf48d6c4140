// Package module is the contract between Linli's core and its business
// capabilities. A capability lives in one folder and exports one Spec from
// its module.go; internal/app keeps the list of specs and nothing else of
// theirs. A spec declares the module's migrations, settings and commands;
// the core hands the built module its Deps, and the module answers with
// its navigation and routes, and — when it implements the optional
// interfaces below — background jobs, demo data, role home pages, data
// elements for the indicators, items for the worker's 工作台 and CLI
// commands.
package module

import (
	"context"
	"database/sql"
	"flag"
	"io"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"linli/internal/access"
	"linli/internal/audit"
	"linli/internal/config"
	"linli/internal/db"
	"linli/internal/divisions"
	"linli/internal/fault"
	"linli/internal/secret"
	"linli/internal/web"
)

// Spec declares a module: what is known before anything is opened.
type Spec struct {
	Name string
	// Migrations are the module's schema steps, applied in order after
	// the core's and the modules' before it in the list.
	Migrations []db.Migration
	// Settings are the module's own flags and variables; their values
	// reach the module in Deps.Settings, checked at start.
	Settings []config.Setting
	// Commands are added to the linli command line.
	Commands []Command
	// New builds the module. It must not touch the database: migrations
	// run after every module is built, before any is mounted.
	New func(Deps) (Module, error)
}

// Deps are what the core gives every module.
type Deps struct {
	DB        *db.DB
	Keys      *secret.Keyring
	Audit     *audit.Log
	Divisions Divisions
	Now       func() time.Time
	Log       *slog.Logger
	Settings  config.Values // this module's settings
	DataDir   string        // the SQLite data folder (a cache may live below it); empty on PostgreSQL
	// FilesDir is the data folder on either store (0700): files a module
	// hands to its users later (export files) live below it.
	FilesDir string
	// Notices sends in-app notices (and their webhooks).
	Notices Notifier
}

// Divisions is the narrow look-up of the division tree a module may use.
type Divisions interface {
	Get(ctx context.Context, code string) (divisions.Division, error)
	// GetMany reads several divisions at once (a list's places), by code.
	GetMany(ctx context.Context, codes []string) (map[string]divisions.Division, error)
	Path(ctx context.Context, code string) ([]divisions.Division, error)
	Children(ctx context.Context, code string, offset, limit int) ([]divisions.Division, int, error)
	Search(ctx context.Context, q, within string, offset, limit int) ([]divisions.Division, int, error)
	// Locate answers which village or community within a division a point
	// lies in (ok false when nothing known is near).
	Locate(ctx context.Context, lon, lat float64, within string) (code string, ok bool, err error)
	// ReadPicker reads a division picker (a form field that walks down the
	// tree and searches by name, without JavaScript) from a submitted
	// form, within the jurisdiction of the principal in ctx; initial is the
	// code shown on a first showing. Render it with Picker.HTML(lang);
	// when Picker.Pending(), show the form again instead of acting.
	ReadPicker(ctx context.Context, form url.Values, field, initial string) (divisions.Picker, error)
}

// Module is a built capability.
type Module interface {
	Nav() []web.NavItem
	// Mount registers routes; rd parses the module's templates.
	Mount(rt *web.Router, rd *web.Renderer) error
}

// Runner is a module with background work. Run returns when ctx ends.
type Runner interface {
	Run(ctx context.Context)
}

// Settler is a Runner with start-up work: a first pass Run makes at once
// (a reconcile, a precompute, a backlog) before it settles into its period.
// Settled is closed when that pass has ended (or Run has returned), so a
// benchmark can measure the steady state rather than the start; SettledAt
// is when (zero before).
type Settler interface {
	Runner
	Settled() <-chan struct{}
	SettledAt() time.Time
}

// Settling is what a Settler embeds: its zero value is ready, Settle marks
// the first pass done (repeats do nothing) and Settled is the signal.
type Settling struct {
	once sync.Once
	ch   chan struct{}
	done sync.Once
	at   time.Time // set before ch closes
}

func (s *Settling) init() { s.once.Do(func() { s.ch = make(chan struct{}) }) }

// Settled is closed once Settle has been called.
func (s *Settling) Settled() <-chan struct{} { s.init(); return s.ch }

// SettledAt is when Settle was first called (zero before).
func (s *Settling) SettledAt() time.Time {
	select {
	case <-s.Settled():
		return s.at
	default:
		return time.Time{}
	}
}

// Settle marks the start-up pass done.
func (s *Settling) Settle() {
	s.init()
	s.done.Do(func() { s.at = time.Now(); close(s.ch) })
}

// Closer is a module holding resources (goroutines, caches on disk) that
// must be released when the app closes.
type Closer interface {
	Close() error
}

// DemoOptions choose the synthetic demo data.
type DemoOptions struct {
	County string // county code, default 西湖区 330106
	Seed   uint64
	Year   int
	// Scale is the demo population: "community", "county", or a share of
	// the county's real size (empty: the modules' default).
	Scale string
	// Progress, if set, is told what a module is writing and how far it
	// is (done of total); a long generation prints it.
	Progress func(what string, done, total int)
}

// Demo is a module that adds synthetic demo data; it runs once, after
// the core's demo data and the modules before it in the list.
type Demo interface {
	Demo(ctx context.Context, o DemoOptions) error
}

// Homes is a module owning some roles' start pages (path by role).
type Homes interface {
	Homes() map[access.Role]string
}

// Places is a module that publishes a view of points known to lie in a
// village or community (columns division_code, lon, lat); the core uses
// them to tell where a point lies (Divisions.Locate).
type Places interface {
	PlacesView() string
}

// Group is the grouping of one data-element query: codes in [Lo, Hi),
// summed by their first Prefix characters, as of the end of Year — or,
// when Month is 1–12, of that month of Year (an element without monthly
// data answers for the year). Fine asks for each row's own division code,
// whatever its level (a full recompute rolls the values up itself).
type Group struct {
	Lo, Hi string
	Prefix int
	Year   int
	Month  int // 0: the whole year
	Fine   bool
}

// SumFunc sums a data element by group prefix; a prefix missing from the
// map has no data.
type SumFunc func(ctx context.Context, q *sql.DB, g Group) (map[string]float64, error)

// Element is a named data element that indicator formulas may use.
type Element struct {
	Key            string
	NameZH, NameEN string
	Source         string // "computed" or "reported"
	Sum            SumFunc
	// Distinct4: the element counts distinct cities (the first 4 digits),
	// so a roll-up unions cities instead of adding.
	Distinct4 bool
	// Structural elements depend on the division tree only.
	Structural bool
	// Volatile elements change with every request handled: an indicator
	// naming one is computed when read, never precomputed.
	Volatile bool
	// Measured elements are sums of measured or entered values: a group
	// without rows has no data, where a computed count without rows is 0.
	Measured bool
	// Monthly elements answer per month (Group.Month); an indicator
	// naming one has month periods, and its year value is the mean of
	// its months.
	Monthly bool
}

// ElementSupplier is a module offering data elements to the indicators.
type ElementSupplier interface {
	Elements() []Element
}

// ElementUser is a module computing over the elements others supply; it
// receives them after every module is built, before any is mounted.
type ElementUser interface {
	UseElements([]Element) error
}

// WorkItem is one thing waiting for a worker, shown on the 工作台.
type WorkItem struct {
	Module   string
	Kind     string    // e.g. "request.overdue"; items are counted and filtered by kind
	KindName fault.Msg // the kind in words: "逾期诉求 / Overdue requests"
	Title    fault.Msg
	Whose    string    // whose matter it is: a masked name, a household or a place
	Href     string    // one tap to act
	Due      time.Time // zero: no deadline
	Urgent   bool
}

// WorkSource is a module with work for the signed-in worker (for township
// and county officers: their subtree's escalations). It returns at most
// limit items, the most pressing first.
type WorkSource interface {
	Work(ctx context.Context, p *access.Principal, limit int) ([]WorkItem, error)
}

// WorkQuery is what the 工作台 asks a WorkBoarder for: one page's worth
// of items after the filters, and the counts of everything.
type WorkQuery struct {
	Kind    string // only items of this kind; empty: every kind
	Overdue bool   // only items past their due time
	Limit   int    // at most this many items, the most pressing first
	// Bound caps every count: exact up to Bound, Bound+1 meaning more.
	Bound int
}

// WorkCount is how many items of one kind wait, bounded as asked.
type WorkCount struct {
	Kind  string
	Name  fault.Msg
	Count int
}

// WorkBoard is a WorkBoarder's answer. Counts and Overdue ignore the
// query's filters: they are what the filter links show.
type WorkBoard struct {
	Items   []WorkItem
	Counts  []WorkCount // kinds with items waiting, the most pressing first
	Overdue int         // items past their due time, bounded alike
}

// WorkBoarder is a WorkSource that reads its part of the 工作台 in a few
// bounded queries, whatever the worker's backlog: the items asked for
// and a count per kind. The 工作台 reads a plain WorkSource's items and
// counts them itself, which only suits a source with few items.
type WorkBoarder interface {
	WorkSource
	WorkBoard(ctx context.Context, p *access.Principal, q WorkQuery) (WorkBoard, error)
}

// MineSection is one block of a resident's 我的 page.
type MineSection struct {
	Module string
	Order  int // smaller first
	Title  fault.Msg
	Items  []MineItem
	Empty  fault.Msg // shown when Items is empty
	More   string    // link to the full list, may be empty
	Action *MineItem // the section's one action ("提交诉求"), may be nil
}

// MineItem is one line of a MineSection.
type MineItem struct {
	Label  fault.Msg
	Status *web.Tag // may be nil
	When   time.Time
	Href   string
}

// MineSource is a module with something to show a resident on 我的.
type MineSource interface {
	Mine(ctx context.Context, p *access.Principal) ([]MineSection, error)
}

// Notice is an in-app notice to one account; where a deployment
// configures it, the same notice also leaves as a signed webhook (bind
// SMS or 浙里办 to it).
type Notice struct {
	UserID string // the account told
	Kind   string // e.g. "request.answered", "visit.scheduled"
	Title  fault.Msg
	Body   fault.Msg
	Href   string
	// Key makes sending idempotent: a second notice with the same
	// (UserID, Key) is dropped. Empty: always sent.
	Key string
}

// Notifier tells residents and workers what happened to their matters.
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// Command is a linli subcommand a module adds.
type Command struct {
	// Name is the command ("circle"), or "bench NAME" for a benchmark.
	Name    string
	Summary string // bilingual one-liner
	Usage   string // synopsis and an example
	Run     func(c CLI, args []string) int
}

// CLI is what a command gets from the command line.
type CLI struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Open parses the store flags in args (plus the command's own, added
	// by flags), opens and migrates the platform and returns this module
	// and the arguments left. code ≥ 0 means stop and exit with it (help
	// asked, bad flags, store unreachable: already reported).
	Open func(name string, args []string, flags func(*flag.FlagSet)) (m Module, rest []string, close func(), code int)
}
