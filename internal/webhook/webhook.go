// Package webhook posts JSON to a deployment's endpoint (an SMS gateway,
// a 浙里办 message adapter), signed so that the receiver can trust it: with
// a secret, the header X-Linli-Signature carries "sha256=" and the hex
// HMAC-SHA256 of the body.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// SignatureHeader carries the body's signature.
const SignatureHeader = "X-Linli-Signature"

// Sender posts to one endpoint.
type Sender struct {
	URL    string
	Secret string
	Client *http.Client // nil: a client with a 5 s timeout
}

// Sign is the signature header's value for body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Post sends v as JSON and treats any answer but a 2xx as a failure.
func (s *Sender) Post(ctx context.Context, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if s.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(s.Secret, body))
	}
	c := s.Client
	if c == nil {
		c = &http.Client{Timeout: 5 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook %s answered %d", s.URL, resp.StatusCode)
	}
	return nil
}

// CheckURL is the settings' check of an endpoint: empty (none) or an
// http(s) URL with a host.
func CheckURL(v string) error {
	if v == "" {
		return nil
	}
	if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("须为 http(s):// 地址 / must be an http(s):// URL, got %q", v)
	}
	return nil
}
