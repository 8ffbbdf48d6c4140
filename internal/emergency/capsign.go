package emergency

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"strconv"
	"sync"
	"time"

	"linli/internal/secret"
	"linli/internal/web"
	"linli/internal/xmldsig"
)

// capSigner signs the CAP documents the platform serves with an enveloped
// XML Signature (CAP 1.2, 3.3.2.1), so that a relay or a receiving
// system can tell a warning was issued here and not changed on the way.
// The key is derived from the deployment's keyring (never stored, never
// rotated); its self-signed certificate rides in every signature and is
// published at /cap/signing-cert.pem for receivers to pin.
type capSigner struct {
	once sync.Once
	key  *ecdsa.PrivateKey
	cert []byte // DER
	err  error
}

func (c *capSigner) load(k *secret.Keyring) error {
	c.once.Do(func() {
		// A derived 32-byte value is a valid P-256 scalar unless it is
		// zero or beyond the group order (odds about 2⁻³²): then the next.
		for i := 0; c.key == nil; i++ {
			c.key, c.err = ecdsa.ParseRawPrivateKey(elliptic.P256(), k.Derive("emergency.cap-signing."+strconv.Itoa(i)))
			if i == 8 {
				return
			}
		}
		pub, err := x509.MarshalPKIXPublicKey(&c.key.PublicKey)
		if err != nil {
			c.err = err
			return
		}
		serial := sha256.Sum256(pub)
		tpl := &x509.Certificate{
			SerialNumber: new(big.Int).SetBytes(serial[:16]),
			Subject:      pkix.Name{CommonName: "Linli CAP signing", Organization: []string{"邻里 Linli"}},
			NotBefore:    time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC),
			NotAfter:     time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC),
			KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
		}
		c.cert, c.err = x509.CreateCertificate(rand.Reader, tpl, tpl, &c.key.PublicKey, c.key)
	})
	return c.err
}

// signCAP signs a CAP document (a store without a keyring serves it
// unsigned).
func (s *Store) signCAP(doc []byte) ([]byte, error) {
	if s.cap == nil || s.Keys == nil {
		return doc, nil
	}
	if err := s.cap.load(s.Keys); err != nil {
		return nil, err
	}
	return xmldsig.Sign(doc, s.cap.key, s.cap.cert)
}

// SigningCert is the certificate of the key that signs CAP documents, PEM.
func (s *Store) SigningCert() ([]byte, error) {
	if s.cap == nil || s.Keys == nil {
		return nil, nil
	}
	if err := s.cap.load(s.Keys); err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.cap.cert}), nil
}

func (h *Handlers) signingCert(w http.ResponseWriter, r *http.Request) {
	b, err := h.Store.SigningCert()
	if err != nil || b == nil {
		web.Logger(r.Context()).Error("CAP signing certificate", "err", err)
		http.Error(w, "服务器内部错误 / internal server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(b)
}
