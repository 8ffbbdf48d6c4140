package auth_test

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"rsc.io/qr"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/auth"
)

// enrol turns one-time codes on for name (the secret made as the enrolment
// page's POST makes it, the code confirmed on the page), returning the
// secret; the code it confirms with is that of the clock's step.
func enrol(t *testing.T, e *apptest.Env, name string) string {
	t.Helper()
	var id string
	if err := e.App.DB.R.QueryRow(`SELECT id FROM users WHERE username = $1`, name).Scan(&id); err != nil {
		t.Fatal(err)
	}
	secret, err := e.App.Auth.StartTOTP(as(&access.Principal{UserID: id}))
	if err != nil {
		t.Fatal(err)
	}
	code, err := auth.TOTPCode(secret, e.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st, _, _ := e.Login(name).Form("/account/totp", map[string]string{"code": code}, nil); st != 303 {
		t.Fatalf("confirm: %d", st)
	}
	return secret
}

func TestTOTPCodeCannotBeReplayed(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		secret := enrol(t, e, "county")
		withCode := func(code string) map[string]string {
			return map[string]string{"username": "county", "password": apptest.Password, "totp": code}
		}
		t.Run("the code that enrolled does not sign in within its step", func(t *testing.T) {
			code, _ := auth.TOTPCode(secret, e.Clock.Now())
			_, p := signIn(t, e.Client(), withCode(code), 401)
			if len(p.Errors) != 1 || p.Errors[0].Field != "totp" || p.DetailEN != "wrong one-time code" {
				t.Fatalf("got %+v", p)
			}
		})
		e.Clock.Add(30 * time.Second)
		code, _ := auth.TOTPCode(secret, e.Clock.Now())
		t.Run("a fresh code signs in once; the same code again is refused", func(t *testing.T) {
			signIn(t, e.Client(), withCode(code), 200)
			_, p := signIn(t, e.Client(), withCode(code), 401)
			t.Logf("the same code twice: 200, then %d", p.Status)
			if p.DetailEN != "wrong one-time code" {
				t.Fatalf("replay: %+v", p)
			}
		})
		t.Run("an older step's code is refused once a newer one was taken", func(t *testing.T) {
			e.Clock.Add(30 * time.Second)
			next, _ := auth.TOTPCode(secret, e.Clock.Now())
			signIn(t, e.Client(), withCode(next), 200)
			_, p := signIn(t, e.Client(), withCode(code), 401) // still within the drift window
			if p.DetailEN != "wrong one-time code" {
				t.Fatalf("older code: %+v", p)
			}
		})
		t.Run("of parallel sign-ins with one code, one gets in", func(t *testing.T) {
			e.Clock.Add(30 * time.Second)
			fresh, _ := auth.TOTPCode(secret, e.Clock.Now())
			const n = 4
			statuses := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					st, _ := e.Client().Do("POST", "/api/v1/session", withCode(fresh))
					statuses[i] = st
				})
			}
			wg.Wait()
			ok := 0
			for _, st := range statuses {
				if st == 200 {
					ok++
				}
			}
			if ok != 1 {
				t.Fatalf("statuses %v", statuses)
			}
		})
	})
}

func TestTOTPEnrolmentStartsOnPOST(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("county", access.Officer, apptest.County)
		c := e.Login("county")
		secrets := func() int {
			return e.Count(`SELECT COUNT(*) FROM users WHERE username = 'county' AND totp_secret <> ''`)
		}
		t.Run("opening the page makes no secret", func(t *testing.T) {
			st, page, _ := c.Get("/account/totp")
			if st != 200 || !regexp.MustCompile(`<input type="hidden" name="action" value="start">`).MatchString(page) {
				t.Fatalf("got %d", st)
			}
			if n := secrets(); n != 0 {
				t.Fatalf("a GET made %d secrets", n)
			}
		})
		t.Run("the POST makes one, which the page then shows again", func(t *testing.T) {
			st, page, _ := c.Form("/account/totp", map[string]string{"action": "start"}, nil)
			m := regexp.MustCompile(`<code id="totp-secret" class="secret">([A-Z2-7 ]+)</code>`).FindStringSubmatch(page)
			if st != 200 || m == nil || secrets() != 1 {
				t.Fatalf("got %d, %d secrets", st, secrets())
			}
			secret := strings.ReplaceAll(m[1], " ", "")
			t.Run("the key is shown in groups of four", func(t *testing.T) {
				for i, g := range strings.Split(m[1], " ") {
					if len(g) != 4 && !(i == len(strings.Split(m[1], " "))-1 && len(g) < 4) {
						t.Fatalf("group %d is %q", i, g)
					}
				}
			})
			t.Run("the link is kept in a details element, the QR code is drawn from it", func(t *testing.T) {
				uri := unescape(first(page, `(?s)<details class="uri">.*?<code class="wrap">([^<]+)</code>`))
				if !strings.HasPrefix(uri, "otpauth://totp/") || !strings.Contains(uri, "secret="+secret) {
					t.Fatalf("link %q", uri)
				}
				d := first(page, `<svg class="qr"[^>]*>.*?<path fill="#000" d="([^"]+)"/></svg>`)
				want, err := qr.Encode(uri, qr.M)
				if d == "" || err != nil {
					t.Fatalf("no QR path (%v)", err)
				}
				if got := modules(t, d, want.Size); !sameModules(got, want) {
					t.Fatal("the QR code drawn differs from the encoding of the link")
				}
			})
			_, again, _ := c.Get("/account/totp")
			if m2 := regexp.MustCompile(`<code id="totp-secret" class="secret">([A-Z2-7 ]+)</code>`).FindStringSubmatch(again); m2 == nil || m2[1] != m[1] {
				t.Fatalf("the page shows %v, want %s", m2, m[1])
			}
		})
	})
}

func TestOpenRedirectRefused(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("wang", access.CommunityWorker, apptest.CommunityA)
		for _, next := range []string{"/\t/evil.example", "//evil.example", "/\\evil.example", "https://evil.example/"} {
			t.Run("GET /prefs stays on the site for "+next, func(t *testing.T) {
				st, _, h := e.Client().Get("/prefs?lang=en&next=" + url.QueryEscape(next))
				if st != 303 || h.Get("Location") != "/" {
					t.Fatalf("got %d %q", st, h.Get("Location"))
				}
			})
			t.Run("POST /login stays on the site for "+next, func(t *testing.T) {
				st, _, h := e.Client().Form("/login", map[string]string{"username": "wang", "password": apptest.Password, "next": next}, nil)
				if st != 303 || h.Get("Location") != "/" {
					t.Fatalf("got %d %q", st, h.Get("Location"))
				}
			})
		}
		t.Run("a clean path is kept", func(t *testing.T) {
			st, _, h := e.Client().Form("/login", map[string]string{"username": "wang", "password": apptest.Password, "next": "/registry/residents?q=%E7%8E%8B"}, nil)
			if st != 303 || h.Get("Location") != "/registry/residents?q=%E7%8E%8B" {
				t.Fatalf("got %d %q", st, h.Get("Location"))
			}
		})
	})
}

// modules reads back the dark modules of a QR path ("Mx yhNv1h-Nz" runs,
// offset by the quiet zone of 4).
func modules(t *testing.T, d string, size int) [][]bool {
	t.Helper()
	grid := make([][]bool, size)
	for i := range grid {
		grid[i] = make([]bool, size)
	}
	for _, m := range regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`).FindAllStringSubmatch(d, -1) {
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		n, _ := strconv.Atoi(m[3])
		for i := 0; i < n; i++ {
			if y-4 < 0 || y-4 >= size || x-4+i < 0 || x-4+i >= size {
				t.Fatalf("module outside the code: %v", m)
			}
			grid[y-4][x-4+i] = true
		}
	}
	return grid
}

func sameModules(got [][]bool, want *qr.Code) bool {
	for y := range got {
		for x := range got[y] {
			if got[y][x] != want.Black(x, y) {
				return false
			}
		}
	}
	return true
}
