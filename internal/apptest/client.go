package apptest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

// Client is one browser or script: it keeps its cookies and does not
// follow redirects, so that tests see them.
type Client struct {
	e    *Env
	HTTP *http.Client
}

// Client returns a client that has not signed in.
func (e *Env) Client() *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{e: e, HTTP: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Login signs in through the JSON API and fails the test unless it works.
func (e *Env) Login(name string) *Client {
	e.T.Helper()
	c := e.Client()
	if st, body := c.Do("POST", "/api/v1/session", map[string]string{"username": name, "password": Password}); st != 200 {
		e.T.Fatalf("login %s: %d %s", name, st, body)
	}
	return c
}

// Do sends a same-origin request. A string body is sent as CSV, any other
// non-nil body as JSON.
func (c *Client) Do(method, path string, body any) (status int, text string) {
	c.e.T.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ctype = strings.NewReader(b), "text/csv"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.e.T.Fatalf("%s %s: %v", method, path, err)
		}
		rd, ctype = bytes.NewReader(j), "application/json"
	}
	req := c.NewRequest(method, path, rd)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	status, text, _ = c.Send(req)
	return status, text
}

// JSON sends a request as Do does, fails the test with the body unless the
// status is want, and decodes the answer into a T.
func JSON[T any](t testing.TB, c *Client, method, path string, body any, want int) T {
	t.Helper()
	var v T
	st, text := c.Do(method, path, body)
	if st != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, st, want, text)
	}
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("%s %s: decode into %T: %v: %s", method, path, v, err, text)
	}
	return v
}

// Get fetches a page and returns its headers too.
func (c *Client) Get(path string) (status int, text string, hdr http.Header) {
	c.e.T.Helper()
	return c.Send(c.NewRequest("GET", path, nil))
}

// Form posts an HTML form with extra headers (hdr may be nil).
func (c *Client) Form(path string, vals map[string]string, hdr map[string]string) (status int, text string, h http.Header) {
	c.e.T.Helper()
	form := url.Values{}
	for k, v := range vals {
		form.Set(k, v)
	}
	req := c.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return c.Send(req)
}

// Multipart posts a multipart form with one file (none when file is nil) as
// a browser's page does, with extra headers (hdr may be nil).
func (c *Client) Multipart(path string, fields map[string]string, fileField, fileName string, file []byte, hdr map[string]string) (status int, text string, h http.Header) {
	c.e.T.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != nil {
		fw, _ := mw.CreateFormFile(fileField, fileName)
		fw.Write(file)
	}
	mw.Close()
	req := c.NewRequest("POST", path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return c.Send(req)
}

// NewRequest is a request to path on the test server.
func (c *Client) NewRequest(method, path string, body io.Reader) *http.Request {
	c.e.T.Helper()
	req, err := http.NewRequest(method, c.e.URL+path, body)
	if err != nil {
		c.e.T.Fatal(err)
	}
	return req
}

// Send sends req with the client's cookies and reads the whole answer.
func (c *Client) Send(req *http.Request) (status int, text string, hdr http.Header) {
	c.e.T.Helper()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.e.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.e.T.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}
