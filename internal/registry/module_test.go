package registry_test

import (
	"strings"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/module"
	"linli/internal/registry"
)

func TestModule(t *testing.T) {
	t.Parallel()
	t.Run("the module is built only with a clock", func(t *testing.T) {
		if _, err := registry.Module().New(module.Deps{}); err == nil || !strings.Contains(err.Error(), "Deps.Now") {
			t.Fatalf("built without a clock: %v", err)
		}
		m, err := registry.Module().New(module.Deps{Now: time.Now})
		if err != nil || registry.StoreOf(m) == nil {
			t.Fatalf("built with a clock: %v", err)
		}
	})
	t.Run("the store of another module is nil", func(t *testing.T) {
		if registry.StoreOf(nil) != nil {
			t.Fatal("a store of nothing")
		}
	})
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		t.Run("the app's clock is the store's", func(t *testing.T) {
			if got := storeOf(e).Now(); !got.Equal(e.Clock.Now()) {
				t.Fatalf("store reads %v, clock %v", got, e.Clock.Now())
			}
			e.Clock.Add(time.Hour)
			if got := storeOf(e).Now(); !got.Equal(e.Clock.Now()) {
				t.Fatalf("store reads %v after the clock moved to %v", got, e.Clock.Now())
			}
		})
		t.Run("grid workers start at the workbench, their grid one tap away in the header", func(t *testing.T) {
			e.User("res", access.Resident, communityA)
			e.User("grid", access.GridWorker, communityA)
			if _, body, _ := e.Login("grid").Get("/work"); !strings.Contains(body, `href="/registry/my-grid"`) {
				t.Fatal("no link to the grid on the workbench's header")
			}
			for user, want := range map[string]string{"grid": "/work"} {
				st, _, h := e.Login(user).Get("/")
				if st != 303 || h.Get("Location") != want {
					t.Fatalf("%s home: %d %q", user, st, h.Get("Location"))
				}
			}
		})
		t.Run("a resident without a record gets a 404 page", func(t *testing.T) {
			page(t, e.Login("res"), "/registry/me", 404)
		})
	})
}
