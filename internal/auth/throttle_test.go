package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"linli/internal/access"
	"linli/internal/apptest"
	"linli/internal/auth"
	"linli/internal/fault"
	"linli/internal/web"
)

// attempt is one sign-in's answer: its status, Retry-After and problem.
type attempt struct {
	Status     int
	RetryAfter int
	Problem    web.Problem
}

// tryLogin posts a JSON sign-in with a plain HTTP client (safe from any
// goroutine) and decodes the problem of a refusal.
func tryLogin(url, username, password string) (attempt, error) {
	body, err := json.Marshal(map[string]string{"username": username, "password": password})
	if err != nil {
		return attempt{}, err
	}
	resp, err := http.Post(url+"/api/v1/session", "application/json", bytes.NewReader(body))
	if err != nil {
		return attempt{}, err
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(resp.Body)
	if err != nil {
		return attempt{}, err
	}
	a := attempt{Status: resp.StatusCode}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if a.RetryAfter, err = strconv.Atoi(ra); err != nil {
			return a, fmt.Errorf("Retry-After %q: %w", ra, err)
		}
	}
	if resp.StatusCode != 200 {
		if err := json.Unmarshal(text, &a.Problem); err != nil {
			return a, fmt.Errorf("decode %d: %w: %s", resp.StatusCode, err, text)
		}
	}
	return a, nil
}

// mustLogin is tryLogin on the test's goroutine.
func mustLogin(t *testing.T, e *apptest.Env, username, password string) attempt {
	t.Helper()
	a, err := tryLogin(e.URL, username, password)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// failures is the account's counted sign-in failures.
func failures(e *apptest.Env, username string) int {
	return e.Count(`SELECT COALESCE(SUM(failures), 0) FROM login_throttle WHERE key = $1`, "user:"+username)
}

func TestParallelWrongPasswordsLock(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		e.User("wang", access.Officer, apptest.County)
		const n = 40
		answers := make([]attempt, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { answers[i], errs[i] = tryLogin(e.URL, "wang", "Wrong-Passw0rd-1") })
		}
		wg.Wait()
		byStatus := map[int]int{}
		for i, a := range answers {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			byStatus[a.Status]++
		}
		t.Logf("40 parallel wrong passwords: answers %v, failures counted %d", byStatus, failures(e, "wang"))
		t.Run("every failure is counted", func(t *testing.T) {
			if got := failures(e, "wang"); got != n {
				t.Fatalf("counted %d failures, want %d", got, n)
			}
		})
		t.Run("past the free tries the answers are 429 with Retry-After, in both languages", func(t *testing.T) {
			if byStatus[401] != 5 || byStatus[429] != n-5 {
				t.Fatalf("answers %v, want 5 × 401 and %d × 429", byStatus, n-5)
			}
			for _, a := range answers {
				switch a.Status {
				case 401:
					if a.Problem.DetailEN != "wrong username or password" {
						t.Errorf("401 says %q", a.Problem.DetailEN)
					}
				case 429:
					if a.RetryAfter < 1 || a.Problem.Detail != "登录尝试过多，请 "+strconv.Itoa(a.RetryAfter)+" 秒后再试" ||
						a.Problem.DetailEN != "too many sign-in attempts; try again in "+strconv.Itoa(a.RetryAfter)+" s" {
						t.Errorf("429: Retry-After %d, %q / %q", a.RetryAfter, a.Problem.Detail, a.Problem.DetailEN)
					}
				}
			}
		})
		t.Run("the right password waits too, then signs in and clears the count", func(t *testing.T) {
			a := mustLogin(t, e, "wang", apptest.Password)
			if a.Status != 429 {
				t.Fatalf("right password during the back-off: %d", a.Status)
			}
			e.Clock.Add(time.Duration(a.RetryAfter) * time.Second)
			if a := mustLogin(t, e, "wang", apptest.Password); a.Status != 200 {
				t.Fatalf("after the back-off: %+v", a)
			}
			if got := failures(e, "wang"); got != 0 {
				t.Fatalf("%d failures left after a sign-in", got)
			}
		})
	})
}

func TestOneAddressIsSlowed(t *testing.T) {
	t.Parallel()
	apptest.Each(t, func(t *testing.T, e *apptest.Env) {
		for i := range 30 {
			e.User(fmt.Sprintf("worker%02d", i), access.CommunityWorker, apptest.CommunityA)
		}
		byStatus := map[int]int{}
		lastWait := 0
		for try := range 120 {
			a := mustLogin(t, e, fmt.Sprintf("worker%02d", try%30), "Wrong-Passw0rd-1")
			byStatus[a.Status]++
			if a.Status == 429 {
				lastWait = a.RetryAfter
			}
		}
		t.Logf("120 wrong tries on 30 accounts from one address: answers %v", byStatus)
		t.Run("past the address's free tries every answer is slowed", func(t *testing.T) {
			if byStatus[401] != 20 || byStatus[429] != 100 {
				t.Fatalf("answers %v, want 20 × 401 and 100 × 429", byStatus)
			}
		})
		t.Run("the delay grows with the failures, up to a quarter of an hour", func(t *testing.T) {
			if lastWait != 15*60 {
				t.Fatalf("last wait %d s", lastWait)
			}
		})
		t.Run("no account is slowed by four failures of its own", func(t *testing.T) {
			e.Clock.Add(15 * time.Minute)
			if a := mustLogin(t, e, "worker07", apptest.Password); a.Status != 200 {
				t.Fatalf("got %+v", a)
			}
		})
	})
}

func TestSignInAnswersAlikeUntilThePasswordIsRight(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		e.user("wang", access.CommunityWorker, communityA)
		sec := principal(e.user("sec", access.SecAdmin, "33"))
		e.user("gone", access.CommunityWorker, communityA)
		if err := e.svc.SetDisabled(as(sec), "gone", true); err != nil {
			t.Fatal(err)
		}
		type answer struct {
			Code       fault.Code
			EN         string
			RetryAfter time.Duration
		}
		answerOf := func(err error) answer {
			f, ok := fault.As(err)
			if !ok {
				t.Fatalf("got %v", err)
			}
			wait, _ := auth.RetryAfter(err)
			return answer{f.Code, f.Msg.EN, wait}
		}
		// Each name signs in from its own address, so that only the
		// account's own count differs between them.
		seqs := map[string][]answer{}
		for i, name := range []string{"nobody", "wang", "gone"} {
			for range 8 {
				_, _, err := e.svc.Login(context.Background(), name, "Wrong-Passw0rd-1", "", fmt.Sprintf("198.51.100.%d", i), "test")
				seqs[name] = append(seqs[name], answerOf(err))
			}
		}
		t.Run("unknown, active, locked and disabled accounts answer alike to wrong passwords", func(t *testing.T) {
			if !reflect.DeepEqual(seqs["nobody"], seqs["wang"]) || !reflect.DeepEqual(seqs["nobody"], seqs["gone"]) {
				t.Fatalf("nobody %v\nwang %v\ngone %v", seqs["nobody"], seqs["wang"], seqs["gone"])
			}
			if a := seqs["nobody"][0]; a != (answer{fault.CodeUnauthenticated, "wrong username or password", 0}) {
				t.Fatalf("first answer %+v", a)
			}
			if a := seqs["nobody"][7]; a.Code != fault.CodeTooMany || a.RetryAfter <= 0 {
				t.Fatalf("last answer %+v", a)
			}
		})
		t.Run("the right password of a disabled account says so once the back-off is over", func(t *testing.T) {
			e.clock.Add(auth.BackoffCap)
			_, _, err := e.svc.Login(context.Background(), "gone", password, "", "198.51.100.2", "test")
			if a := answerOf(err); a != (answer{fault.CodeUnauthenticated, "the account is disabled; contact your administrator", 0}) {
				t.Fatalf("got %+v", a)
			}
		})
	})
}
