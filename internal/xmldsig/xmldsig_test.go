package xmldsig_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"linli/internal/xmldsig"
)

// sample is a document of the kind the platform writes: a default
// namespace, indentation, attributes out of order, text that c14n
// escapes (& < > and a carriage return) and text it leaves alone (" ' and
// Chinese), an empty element.
const sample = `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>330106-2026-0001</identifier>
  <note zeta="2" alpha="1">A &amp; B &lt; C &gt; D "quoted" 'single' 台风橙色预警&#xD;</note>
  <empty/>
  <info>
    <headline>西湖区台风橙色预警</headline>
  </info>
</alert>
`

func keyAndCert(t *testing.T) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test signer"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

func TestEnvelopedSignature(t *testing.T) {
	t.Parallel()
	key, cert := keyAndCert(t)
	signed, err := xmldsig.Sign([]byte(sample), key, cert)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the canonical form is exclusive c14n: declaration gone, tags paired, attributes sorted, text escaped as c14n does", func(t *testing.T) {
		got, err := xmldsig.Canonical([]byte(sample))
		if err != nil {
			t.Fatal(err)
		}
		want := `<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>330106-2026-0001</identifier>
  <note alpha="1" zeta="2">A &amp; B &lt; C &gt; D "quoted" 'single' 台风橙色预警&#xD;</note>
  <empty></empty>
  <info>
    <headline>西湖区台风橙色预警</headline>
  </info>
</alert>`
		if string(got) != want {
			t.Fatalf("canonical form:\n%s\nwant:\n%s", got, want)
		}
	})
	t.Run("the signature is the root's last child and the rest of the document is unchanged", func(t *testing.T) {
		i := bytes.Index(signed, []byte(`<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">`))
		j := bytes.Index(signed, []byte(`</Signature>`))
		if i < 0 || j < 0 || !bytes.HasSuffix(signed, []byte("</Signature></alert>\n")) {
			t.Fatalf("signed:\n%s", signed)
		}
		if rest := string(signed[:i]) + string(signed[j+len("</Signature>"):]); rest != sample {
			t.Fatalf("the document changed:\n%s", rest)
		}
	})
	t.Run("it verifies, and names its certificate", func(t *testing.T) {
		c, err := xmldsig.Verify(signed)
		if err != nil || c.Subject.CommonName != "test signer" {
			t.Fatalf("verify: %v %v", c, err)
		}
	})
	t.Run("a changed character, a changed signature or no signature fails", func(t *testing.T) {
		for name, doc := range map[string]string{
			"text":      strings.Replace(string(signed), "橙色", "红色", 1),
			"attribute": strings.Replace(string(signed), `zeta="2"`, `zeta="3"`, 1),
			"signature": strings.Replace(string(signed), "<SignatureValue>", "<SignatureValue>AA", 1),
			"digest":    strings.Replace(string(signed), `xmlenc#sha256"></DigestMethod><DigestValue>`, `xmlenc#sha256"></DigestMethod><DigestValue>AAAA`, 1),
			"unsigned":  sample,
		} {
			if _, err := xmldsig.Verify([]byte(doc)); err == nil {
				t.Errorf("%s: verified", name)
			}
		}
	})
	t.Run("prefixed names are refused rather than canonicalized wrongly", func(t *testing.T) {
		if _, err := xmldsig.Canonical([]byte(`<a:x xmlns:a="urn:a"><a:y/></a:x>`)); err == nil {
			t.Fatal("a prefixed document was canonicalized")
		}
	})
	t.Run("xmlsec1, an independent implementation, verifies it", func(t *testing.T) {
		bin, err := exec.LookPath("xmlsec1")
		if err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("xmlsec1 is not installed (.ci/run installs it)")
			}
			t.Skip("xmlsec1 is not installed: apt-get install xmlsec1")
		}
		dir := t.TempDir()
		doc, pemFile := filepath.Join(dir, "signed.xml"), filepath.Join(dir, "cert.pem")
		if err := os.WriteFile(doc, signed, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert}), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "--verify", "--trusted-pem", pemFile, doc).CombinedOutput(); err != nil {
			t.Fatalf("xmlsec1: %v\n%s", err, out)
		}
		tampered := filepath.Join(dir, "tampered.xml")
		if err := os.WriteFile(tampered, bytes.Replace(signed, []byte("橙色"), []byte("红色"), 1), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "--verify", "--trusted-pem", pemFile, tampered).CombinedOutput(); err == nil {
			t.Fatalf("xmlsec1 verified a changed document:\n%s", out)
		}
	})
}
