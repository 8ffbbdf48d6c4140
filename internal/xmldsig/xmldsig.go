// Package xmldsig signs and checks XML documents with an enveloped XML
// Signature (W3C XML Signature 1.1): the whole document is referenced
// (URI=""), transformed by enveloped-signature and exclusive XML
// canonicalization (without comments), digested with SHA-256 and signed
// with ECDSA P-256 (ecdsa-sha256, RFC 6931); the signer's X.509
// certificate travels in KeyInfo. CAP 1.2 (3.3.2.1) asks for exactly this
// kind of signature on an alert.
//
// The canonicalizer covers the documents this platform writes: elements
// and attributes without namespace prefixes, default namespaces only, no
// comments or processing instructions inside the root. Anything else is
// refused rather than canonicalized wrongly.
package xmldsig

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strings"
)

// The algorithm identifiers written and accepted.
const (
	NS          = "http://www.w3.org/2000/09/xmldsig#"
	ExcC14N     = "http://www.w3.org/2001/10/xml-exc-c14n#"
	Enveloped   = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
	SHA256      = "http://www.w3.org/2001/04/xmlenc#sha256"
	ECDSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
)

// signedInfo is the canonical form of the SignedInfo element for a
// digest: what is signed, byte for byte (exclusive c14n puts the default
// namespace on it, the apex of its node-set).
func signedInfo(digest []byte) string {
	return `<SignedInfo xmlns="` + NS + `"><CanonicalizationMethod Algorithm="` + ExcC14N + `"></CanonicalizationMethod>` +
		`<SignatureMethod Algorithm="` + ECDSASHA256 + `"></SignatureMethod><Reference URI=""><Transforms>` +
		`<Transform Algorithm="` + Enveloped + `"></Transform><Transform Algorithm="` + ExcC14N + `"></Transform></Transforms>` +
		`<DigestMethod Algorithm="` + SHA256 + `"></DigestMethod><DigestValue>` + base64.StdEncoding.EncodeToString(digest) + `</DigestValue></Reference></SignedInfo>`
}

// Sign returns doc with an enveloped signature as the last child of its
// root element. cert is the DER certificate of key's public key.
func Sign(doc []byte, key *ecdsa.PrivateKey, cert []byte) ([]byte, error) {
	canon, err := Canonical(doc)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(canon)
	si := signedInfo(digest[:])
	h := sha256.Sum256([]byte(si))
	r, s, err := ecdsa.Sign(rand.Reader, key, h[:])
	if err != nil {
		return nil, err
	}
	// XML Signature writes an ECDSA signature as r and s, each the size
	// of the curve's order, one after the other (not DER).
	size := (key.Curve.Params().N.BitLen() + 7) / 8
	raw := make([]byte, 2*size)
	r.FillBytes(raw[:size])
	s.FillBytes(raw[size:])
	sig := `<Signature xmlns="` + NS + `">` + strings.Replace(si, ` xmlns="`+NS+`"`, "", 1) +
		`<SignatureValue>` + base64.StdEncoding.EncodeToString(raw) + `</SignatureValue>` +
		`<KeyInfo><X509Data><X509Certificate>` + base64.StdEncoding.EncodeToString(cert) + `</X509Certificate></X509Data></KeyInfo></Signature>`
	// The signature goes just before the root's end tag, with no text
	// around it: removed again (the enveloped transform), the document
	// is the one digested.
	end := bytes.LastIndex(doc, []byte("</"))
	if end < 0 {
		return nil, errors.New("xmldsig: no end tag")
	}
	out := make([]byte, 0, len(doc)+len(sig))
	out = append(out, doc[:end]...)
	out = append(out, sig...)
	return append(out, doc[end:]...), nil
}

// Verify checks doc's enveloped signature: the algorithms are the ones
// Sign writes, the digest is the document's without the signature, and
// the signature verifies under the certificate it carries, which it
// returns for the caller to trust or not.
func Verify(doc []byte) (*x509.Certificate, error) {
	var env struct {
		Signature *struct {
			SignedInfo struct {
				C14N struct {
					Algorithm string `xml:"Algorithm,attr"`
				} `xml:"CanonicalizationMethod"`
				Method struct {
					Algorithm string `xml:"Algorithm,attr"`
				} `xml:"SignatureMethod"`
				Reference []struct {
					URI        string `xml:"URI,attr"`
					Transforms []struct {
						Algorithm string `xml:"Algorithm,attr"`
					} `xml:"Transforms>Transform"`
					Digest struct {
						Algorithm string `xml:"Algorithm,attr"`
					} `xml:"DigestMethod"`
					Value string `xml:"DigestValue"`
				} `xml:"Reference"`
			} `xml:"SignedInfo"`
			Value string `xml:"SignatureValue"`
			Cert  string `xml:"KeyInfo>X509Data>X509Certificate"`
		} `xml:"http://www.w3.org/2000/09/xmldsig# Signature"`
	}
	if err := xml.Unmarshal(doc, &env); err != nil {
		return nil, fmt.Errorf("xmldsig: %w", err)
	}
	sg := env.Signature
	if sg == nil {
		return nil, errors.New("xmldsig: the document is not signed")
	}
	si := sg.SignedInfo
	if si.C14N.Algorithm != ExcC14N || si.Method.Algorithm != ECDSASHA256 || len(si.Reference) != 1 {
		return nil, errors.New("xmldsig: unsupported signature algorithms")
	}
	ref := si.Reference[0]
	if ref.URI != "" || len(ref.Transforms) != 2 || ref.Transforms[0].Algorithm != Enveloped || ref.Transforms[1].Algorithm != ExcC14N || ref.Digest.Algorithm != SHA256 {
		return nil, errors.New("xmldsig: unsupported reference")
	}
	canon, err := Canonical(doc)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(canon)
	if want, err := base64.StdEncoding.DecodeString(strings.TrimSpace(ref.Value)); err != nil || !bytes.Equal(want, digest[:]) {
		return nil, errors.New("xmldsig: the document does not match its digest")
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(sg.Cert), ""))
	if err != nil {
		return nil, fmt.Errorf("xmldsig: certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("xmldsig: certificate: %w", err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("xmldsig: the certificate's key is not ECDSA")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(sg.Value), ""))
	size := (pub.Curve.Params().N.BitLen() + 7) / 8
	if err != nil || len(raw) != 2*size {
		return nil, errors.New("xmldsig: malformed signature value")
	}
	// What was signed is the SignedInfo as it stands in the document,
	// canonicalized.
	sic, err := canonical(doc, modeSignedInfo)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(sic)
	if !ecdsa.Verify(pub, h[:], new(big.Int).SetBytes(raw[:size]), new(big.Int).SetBytes(raw[size:])) {
		return nil, errors.New("xmldsig: the signature does not verify")
	}
	return cert, nil
}

// Canonical is the exclusive canonical form of doc without its enveloped
// signature (a ds:Signature child of the root), as digested.
func Canonical(doc []byte) ([]byte, error) { return canonical(doc, modeEnveloped) }

type mode int

const (
	modeEnveloped  mode = iota // the document without its signature
	modeSignedInfo             // only the signature's SignedInfo
)

// canonical writes doc's elements in exclusive canonical form (default
// namespaces only): start and end tags for every element, a default
// namespace declared where it differs from the nearest written
// ancestor's, attributes in order, text escaped as c14n does.
func canonical(doc []byte, m mode) ([]byte, error) {
	dec := xml.NewDecoder(bytes.NewReader(doc))
	type frame struct {
		name    string
		inScope string // the default namespace in scope
		written string // the default namespace the output has in scope here
		out     bool   // this element is written
		sig     bool   // this element is (inside) the root's signature
		si      bool   // this element is (inside) the SignedInfo
	}
	var stack []frame
	var b bytes.Buffer
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("xmldsig: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != "" {
				return nil, fmt.Errorf("xmldsig: prefixed element %s:%s is not supported", t.Name.Space, t.Name.Local)
			}
			var parent frame
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			f := frame{name: t.Name.Local, inScope: parent.inScope, written: parent.written, sig: parent.sig, si: parent.si}
			var attrs []xml.Attr
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					f.inScope = a.Value
				case a.Name.Space != "":
					return nil, fmt.Errorf("xmldsig: prefixed attribute %s:%s is not supported", a.Name.Space, a.Name.Local)
				default:
					attrs = append(attrs, a)
				}
			}
			if len(stack) == 1 && f.name == "Signature" && f.inScope == NS {
				f.sig = true
			}
			if f.sig && len(stack) == 2 && f.name == "SignedInfo" {
				f.si = true
			}
			f.out = (m == modeEnveloped && !f.sig) || (m == modeSignedInfo && f.si)
			if f.out {
				b.WriteString("<" + f.name)
				if f.inScope != f.written {
					b.WriteString(` xmlns="` + escapeAttr(f.inScope) + `"`)
					f.written = f.inScope
				}
				sort.Slice(attrs, func(i, j int) bool { return attrs[i].Name.Local < attrs[j].Name.Local })
				for _, a := range attrs {
					b.WriteString(" " + a.Name.Local + `="` + escapeAttr(a.Value) + `"`)
				}
				b.WriteString(">")
			}
			stack = append(stack, f)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, errors.New("xmldsig: unbalanced end tag")
			}
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if f.out {
				b.WriteString("</" + f.name + ">")
			}
		case xml.CharData:
			if len(stack) > 0 && stack[len(stack)-1].out {
				b.WriteString(escapeText(string(t)))
			}
		case xml.Comment:
			// exclusive c14n without comments leaves them out
		case xml.ProcInst:
			if t.Target != "xml" {
				return nil, errors.New("xmldsig: processing instructions are not supported")
			}
		case xml.Directive:
			return nil, errors.New("xmldsig: document type declarations are not supported")
		}
	}
	return b.Bytes(), nil
}

var (
	textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#xD;")
	attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", `"`, "&quot;", "\t", "&#x9;", "\n", "&#xA;", "\r", "&#xD;")
)

func escapeText(s string) string { return textEscaper.Replace(s) }
func escapeAttr(s string) string { return attrEscaper.Replace(s) }
