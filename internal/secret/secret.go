// Package secret encrypts personal fields (AES-256-GCM, key version stored
// with each value) and makes blind indexes (HMAC-SHA256) for exact lookup
// and uniqueness, with keys kept outside the database.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Keyring holds the data keys by version and the blind-index key.
type Keyring struct {
	Current int
	keys    map[int]cipher.AEAD
	index   []byte
}

type keyFile struct {
	Current int               `json:"current"`
	Keys    map[string]string `json:"keys"`  // version → base64 32-byte key
	Index   string            `json:"index"` // base64 32-byte HMAC key
}

// KeyFileName is the key file created in the data folder when no key is given.
const KeyFileName = "data.key"

// Load reads the keyring from env (the JSON of a key file, or one bare
// base64 32-byte key) or else from dir/data.key, creating that file with mode
// 0600 on first use. warning is non-empty when the key sits beside the data.
func Load(env, dir string) (k *Keyring, warning string, err error) {
	if env = strings.TrimSpace(env); env != "" {
		if strings.HasPrefix(env, "{") {
			k, err = parse([]byte(env))
		} else {
			k, err = fromBare(env)
		}
		if err != nil {
			return nil, "", fmt.Errorf("LINLI_DATA_KEY 无效 / invalid LINLI_DATA_KEY: %w", err)
		}
		return k, "", nil
	}
	path := filepath.Join(dir, KeyFileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		kf := keyFile{Current: 1, Keys: map[string]string{"1": random()}, Index: random()}
		b, _ = json.MarshalIndent(kf, "", "  ")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, "", err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, "", fmt.Errorf("无法创建密钥文件 / cannot create key file %s: %w", path, err)
		}
		if _, err := f.Write(b); err != nil {
			f.Close()
			return nil, "", err
		}
		if err := f.Close(); err != nil {
			return nil, "", err
		}
	} else if err != nil {
		return nil, "", fmt.Errorf("无法读取密钥文件 / cannot read key file %s: %w", path, err)
	}
	k, err = parse(b)
	if err != nil {
		return nil, "", fmt.Errorf("密钥文件无效 / invalid key file %s: %w", path, err)
	}
	return k, fmt.Sprintf("数据密钥保存在数据目录中的 %s；生产环境请用 LINLI_DATA_KEY 把密钥放在数据库与备份之外 / the data key is in %s beside the data; in production set LINLI_DATA_KEY to keep it apart from the database and its backups", path, path), nil
}

func random() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func fromBare(s string) (*Keyring, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) != 32 {
		return nil, errors.New("须为 32 字节密钥的 base64 / must be the base64 of a 32-byte key")
	}
	m := hmac.New(sha256.New, raw)
	m.Write([]byte("linli blind index"))
	return parse(mustJSON(keyFile{Current: 1, Keys: map[string]string{"1": s}, Index: base64.StdEncoding.EncodeToString(m.Sum(nil))}))
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func parse(b []byte) (*Keyring, error) {
	var kf keyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return nil, err
	}
	k := &Keyring{Current: kf.Current, keys: map[int]cipher.AEAD{}}
	for v, s := range kf.Keys {
		n, err := strconv.Atoi(v)
		raw, err2 := base64.StdEncoding.DecodeString(s)
		if err != nil || err2 != nil || len(raw) != 32 || n < 1 {
			return nil, fmt.Errorf("密钥版本 %s 无效 / key version %s is invalid", v, v)
		}
		blk, _ := aes.NewCipher(raw)
		k.keys[n], _ = cipher.NewGCM(blk)
	}
	if _, ok := k.keys[k.Current]; !ok {
		return nil, errors.New("缺少当前版本的密钥 / the current key version is missing")
	}
	idx, err := base64.StdEncoding.DecodeString(kf.Index)
	if err != nil || len(idx) < 32 {
		return nil, errors.New("盲索引密钥无效 / invalid index key")
	}
	k.index = idx
	return k, nil
}

// Versions lists the key versions held.
func (k *Keyring) Versions() []int {
	var out []int
	for v := range k.keys {
		out = append(out, v)
	}
	sort.Ints(out)
	return out
}

// Seal encrypts plaintext, binding it to aad (e.g. table and column) so that
// a value copied to another field does not decrypt. Output: "v<N>:<base64>".
func (k *Keyring) Seal(plaintext, aad string) string {
	a := k.keys[k.Current]
	nonce := make([]byte, a.NonceSize())
	rand.Read(nonce)
	ct := a.Seal(nonce, nonce, []byte(plaintext), []byte(aad))
	return "v" + strconv.Itoa(k.Current) + ":" + base64.RawStdEncoding.EncodeToString(ct)
}

// Open decrypts a value made by Seal with any held key version.
func (k *Keyring) Open(sealed, aad string) (string, error) {
	ver, body, ok := strings.Cut(sealed, ":")
	n, err := strconv.Atoi(strings.TrimPrefix(ver, "v"))
	if !ok || err != nil {
		return "", errors.New("secret: malformed value")
	}
	a, ok := k.keys[n]
	if !ok {
		return "", fmt.Errorf("secret: key version %d not held", n)
	}
	raw, err := base64.RawStdEncoding.DecodeString(body)
	if err != nil || len(raw) < a.NonceSize() {
		return "", errors.New("secret: malformed value")
	}
	pt, err := a.Open(nil, raw[:a.NonceSize()], raw[a.NonceSize():], []byte(aad))
	if err != nil {
		return "", errors.New("secret: cannot decrypt")
	}
	return string(pt), nil
}

// SealBytes encrypts a binary value (a photo) like Seal, for a BLOB column:
// the key version as a uvarint, then the nonce and the sealed bytes.
func (k *Keyring) SealBytes(plain []byte, aad string) []byte {
	a := k.keys[k.Current]
	out := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+a.NonceSize()+len(plain)+a.Overhead()), uint64(k.Current))
	nonce := make([]byte, a.NonceSize())
	rand.Read(nonce)
	out = append(out, nonce...)
	return a.Seal(out, nonce, plain, []byte(aad))
}

// OpenBytes decrypts a value made by SealBytes with any held key version.
func (k *Keyring) OpenBytes(sealed []byte, aad string) ([]byte, error) {
	n, size := binary.Uvarint(sealed)
	if size <= 0 {
		return nil, errors.New("secret: malformed value")
	}
	a, ok := k.keys[int(n)]
	if !ok {
		return nil, fmt.Errorf("secret: key version %d not held", n)
	}
	body := sealed[size:]
	if len(body) < a.NonceSize()+a.Overhead() {
		return nil, errors.New("secret: malformed value")
	}
	pt, err := a.Open(nil, body[:a.NonceSize()], body[a.NonceSize():], []byte(aad))
	if err != nil {
		return nil, errors.New("secret: cannot decrypt")
	}
	return pt, nil
}

// Derive returns a 32-byte key for one purpose (e.g. "audit"), derived
// from the index key: like it, kept outside the database and never
// rotated, and unrelated to the keys of other purposes.
func (k *Keyring) Derive(purpose string) []byte {
	m := hmac.New(sha256.New, k.index)
	m.Write([]byte("linli derived key\x00"))
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// Index is the blind index of value within a domain (e.g. "id_number"):
// equal values give equal indexes, and the index reveals nothing without the key.
func (k *Keyring) Index(domain, value string) string {
	m := hmac.New(sha256.New, k.index)
	m.Write([]byte(domain))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}
