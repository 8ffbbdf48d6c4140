package module_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The rules of the module seam, checked on the source so that a new
// capability cannot quietly break them.

const modulePath = "linli"

// pkg is one package of the tree, read from its non-test files.
type pkg struct {
	dir     string // relative to the repository root, e.g. internal/registry
	name    string
	imports map[string]bool // linli import paths
	files   []*ast.File
	testLOC int
	codeLOC int
}

func readTree(t *testing.T) map[string]*pkg {
	t.Helper()
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	pkgs := map[string]*pkg{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "testdata" || strings.HasPrefix(n, ".") && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		p := pkgs[rel]
		if p == nil {
			p = &pkg{dir: filepath.ToSlash(rel), imports: map[string]bool{}}
			pkgs[rel] = p
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		lines := strings.Count(string(src), "\n")
		if strings.HasSuffix(path, "_test.go") {
			p.testLOC += lines
			return nil
		}
		p.codeLOC += lines
		f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		p.name = f.Name.Name
		p.files = append(p.files, f)
		for _, im := range f.Imports {
			ip, _ := strconv.Unquote(im.Path.Value)
			if strings.HasPrefix(ip, modulePath+"/") {
				p.imports[strings.TrimPrefix(ip, modulePath+"/")] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// features are the packages that export a module Spec.
func features(pkgs map[string]*pkg) map[string]bool {
	out := map[string]bool{}
	for dir, p := range pkgs {
		for _, f := range p.files {
			for _, d := range f.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == "Module" && fd.Type.Results != nil &&
					len(fd.Type.Results.List) == 1 && types(fd.Type.Results.List[0].Type) == "module.Spec" {
					out[dir] = true
				}
			}
		}
	}
	return out
}

func types(e ast.Expr) string {
	if s, ok := e.(*ast.SelectorExpr); ok {
		if x, ok := s.X.(*ast.Ident); ok {
			return x.Name + "." + s.Sel.Name
		}
	}
	return ""
}

func TestNoFeatureImportsAnotherOrTheApp(t *testing.T) {
	pkgs := readTree(t)
	feats := features(pkgs)
	if len(feats) < 4 {
		t.Fatalf("found %d feature packages, want at least registry, requests, indicators and lifecircle", len(feats))
	}
	for dir, p := range pkgs {
		for im := range p.imports {
			switch {
			case im == "internal/app" && dir != "cmd/linli" && dir != "internal/apptest":
				t.Errorf("%s imports internal/app: only the command and the test harness may", dir)
			case feats[im] && feats[dir] && !strings.HasPrefix(dir, im):
				t.Errorf("feature %s imports feature %s: share data through the module contract", dir, im)
			case feats[im] && !feats[dir] && dir != "internal/app" && !strings.HasPrefix(dir, im+"/"):
				t.Errorf("%s imports feature %s: only the app's module list may", dir, im)
			}
		}
	}
}

// TestFeatureTestsBesideFeatures keeps each feature's tests in its folder:
// at least 0.3 lines of tests per line of code, counted over the folder
// and the folders below it.
func TestFeatureTestsBesideFeatures(t *testing.T) {
	pkgs := readTree(t)
	for feat := range features(pkgs) {
		var code, tests int
		for dir, p := range pkgs {
			if dir == feat || strings.HasPrefix(dir, feat+"/") {
				code += p.codeLOC
				tests += p.testLOC
			}
		}
		if ratio := float64(tests) / float64(code); ratio < 0.3 {
			t.Errorf("%s: %d test lines for %d lines of code (%.2f), want at least 0.3", feat, tests, code, ratio)
		}
	}
}

// TestNoPackageLevelMutableState fails on a package-level variable that
// the code assigns or mutates after its declaration, on synchronisation
// values kept at package level, and on init functions (which fill tables
// at start): state belongs to the instance a constructor returns. Read-only
// tables written as literals, embedded files and build-time version
// strings are fine. Commands (package main) may keep their own state.
func TestNoPackageLevelMutableState(t *testing.T) {
	pkgs := readTree(t)
	var problems []string
	for dir, p := range pkgs {
		if p.name == "main" {
			continue
		}
		vars := map[string]token.Pos{}
		for _, f := range p.files {
			for _, d := range f.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					if d.Recv == nil && d.Name.Name == "init" {
						problems = append(problems, dir+": func init")
					}
				case *ast.GenDecl:
					if d.Tok != token.VAR {
						continue
					}
					for _, s := range d.Specs {
						vs := s.(*ast.ValueSpec)
						for _, n := range vs.Names {
							if n.Name == "_" {
								continue
							}
							vars[n.Name] = n.Pos()
							if ty := types(vs.Type); strings.HasPrefix(ty, "sync.") || strings.HasPrefix(ty, "atomic.") {
								problems = append(problems, dir+": "+n.Name+" is a package-level "+ty)
							}
						}
					}
				}
			}
		}
		for _, f := range p.files {
			ast.Inspect(f, func(n ast.Node) bool {
				var targets []ast.Expr
				switch n := n.(type) {
				case *ast.AssignStmt:
					targets = n.Lhs
				case *ast.IncDecStmt:
					targets = []ast.Expr{n.X}
				case *ast.UnaryExpr:
					if n.Op == token.AND {
						targets = []ast.Expr{n.X}
					}
				case *ast.CallExpr:
					if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "delete" && len(n.Args) > 0 {
						targets = n.Args[:1]
					}
				}
				for _, e := range targets {
					if id := rootIdent(e); id != nil {
						if pos, ok := vars[id.Name]; ok && pos != id.Pos() && !shadowed(f, id) {
							problems = append(problems, dir+": package variable "+id.Name+" is changed at run time")
						}
					}
				}
				return true
			})
		}
	}
	sort.Strings(problems)
	for _, p := range dedupe(problems) {
		t.Error(p)
	}
}

// rootIdent is the variable an assignment target starts from (x, x.f,
// x[i], *x).
func rootIdent(e ast.Expr) *ast.Ident {
	for {
		switch v := e.(type) {
		case *ast.Ident:
			return v
		case *ast.SelectorExpr:
			e = v.X
		case *ast.IndexExpr:
			e = v.X
		case *ast.StarExpr:
			e = v.X
		case *ast.ParenExpr:
			e = v.X
		default:
			return nil
		}
	}
}

// shadowed tells whether id names a local of the function it is in (a
// parameter, receiver or local declared before it), not the package var.
func shadowed(f *ast.File, id *ast.Ident) bool {
	local := false
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil || id.Pos() < fd.Pos() || id.Pos() > fd.End() {
			continue
		}
		declares := func(names []*ast.Ident) {
			for _, n := range names {
				if n.Name == id.Name && n.Pos() <= id.Pos() {
					local = true
				}
			}
		}
		for _, fl := range []*ast.FieldList{fd.Recv, fd.Type.Params, fd.Type.Results} {
			if fl != nil {
				for _, fld := range fl.List {
					declares(fld.Names)
				}
			}
		}
		ast.Inspect(fd, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				if n.Tok == token.DEFINE {
					for _, l := range n.Lhs {
						if i, ok := l.(*ast.Ident); ok {
							declares([]*ast.Ident{i})
						}
					}
				}
			case *ast.ValueSpec:
				declares(n.Names)
			case *ast.FuncLit:
				for _, fld := range n.Type.Params.List {
					declares(fld.Names)
				}
			case *ast.RangeStmt:
				if n.Tok == token.DEFINE {
					for _, x := range []ast.Expr{n.Key, n.Value} {
						if i, ok := x.(*ast.Ident); ok {
							declares([]*ast.Ident{i})
						}
					}
				}
			}
			return true
		})
	}
	return local
}

func dedupe(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
