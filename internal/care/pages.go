package care

import (
	"embed"

	"linli/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// RegisterPages adds the pages: every one works without JavaScript.
func (h *Handlers) RegisterPages(rt *web.Router) {
}
