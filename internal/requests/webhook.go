package requests

import (
	"context"
	"net/http"

	"linli/internal/webhook"
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
	return (&webhook.Sender{URL: w.URL, Secret: w.Secret, Client: w.Client}).Post(ctx, n)
}
