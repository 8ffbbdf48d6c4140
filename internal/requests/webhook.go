package requests

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Webhook delivers notices as JSON POSTs to a deployment's endpoint (an SMS
// gateway or a 浙里办 message adapter). With a secret, the body is signed
// (X-Linli-Signature: sha256=<hex HMAC>) so the receiver can trust it.
type Webhook struct {
	URL    string
	Secret string
	Client *http.Client
}

// Notify posts one notice and treats any non-2xx answer as a failure.
func (w *Webhook) Notify(ctx context.Context, n Notice) error {
	body, err := json.Marshal(n)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if w.Secret != "" {
		m := hmac.New(sha256.New, []byte(w.Secret))
		m.Write(body)
		req.Header.Set("X-Linli-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
	}
	c := w.Client
	if c == nil {
		c = &http.Client{Timeout: 5 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook %s answered %d", w.URL, resp.StatusCode)
	}
	return nil
}
