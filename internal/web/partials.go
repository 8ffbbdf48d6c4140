package web

import (
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strings"
)

// ParseWith is Parse with shared partials — a kit's templates, every
// *.html under templates/ of each partials FS — parsed into every page.
func (rd *Renderer) ParseWith(fsys fs.FS, glob string, partials ...fs.FS) *Pages {
	names, err := fs.Glob(fsys, glob)
	if err != nil || len(names) == 0 {
		panic(fmt.Sprintf("web: no templates match %s", glob))
	}
	ps := &Pages{rd: rd, sets: map[string][2]*template.Template{}}
	for _, n := range names {
		var pair [2]*template.Template
		for i, lang := range []string{"zh", "en"} {
			t := template.New("layout.html").Funcs(rd.funcs(lang))
			t = template.Must(t.ParseFS(kitTemplates, "templates/*.html"))
			for _, p := range partials {
				t = template.Must(t.ParseFS(p, "templates/*.html"))
			}
			t = template.Must(t.ParseFS(fsys, n))
			pair[i] = t
		}
		ps.sets[strings.TrimSuffix(path.Base(n), ".html")] = pair
	}
	return ps
}
