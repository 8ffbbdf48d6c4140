package secret

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyFileSealOpenIndex(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k, warn, err := Load("", dir)
	if err != nil || warn == "" {
		t.Fatalf("load: %v %q", err, warn)
	}
	st, err := os.Stat(filepath.Join(dir, KeyFileName))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v %v", st.Mode(), err)
	}
	s := k.Seal("330106199001011234", "residents.id_number:1")
	if strings.Contains(s, "1990") || !strings.HasPrefix(s, "v1:") {
		t.Fatalf("sealed value leaks or lacks version: %s", s)
	}
	if got, err := k.Open(s, "residents.id_number:1"); err != nil || got != "330106199001011234" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := k.Open(s, "residents.id_number:2"); err == nil {
		t.Fatal("value opened under another field's binding")
	}
	if first, second := k.Seal("x", "a"), k.Seal("x", "a"); first == second {
		t.Fatal("sealing is deterministic")
	}
	// The same key file gives the same keys again; the index is stable.
	k2, _, err := Load("", dir)
	if err != nil {
		t.Fatal(err)
	}
	if k.Index("id", "abc") != k2.Index("id", "abc") || k.Index("id", "abc") == k.Index("phone", "abc") {
		t.Fatal("index not stable or not domain-separated")
	}
	if got, _ := k2.Open(s, "residents.id_number:1"); got != "330106199001011234" {
		t.Fatal("reloaded keyring cannot open")
	}
}

func TestRotationKeepsOldVersions(t *testing.T) {
	t.Parallel()
	old, _, err := Load(`{"current":1,"keys":{"1":"`+random()+`"},"index":"`+random()+`"}`, "")
	if err != nil {
		t.Fatal(err)
	}
	_ = old
	k1 := `"1":"` + random() + `"`
	idx := random()
	a, _, _ := Load(`{"current":1,"keys":{`+k1+`},"index":"`+idx+`"}`, "")
	b, _, err := Load(`{"current":2,"keys":{`+k1+`,"2":"`+random()+`"},"index":"`+idx+`"}`, "")
	if err != nil {
		t.Fatal(err)
	}
	s1 := a.Seal("13812345678", "p")
	s2 := b.Seal("13812345678", "p")
	if !strings.HasPrefix(s2, "v2:") {
		t.Fatal("new values not under the current version")
	}
	for _, s := range []string{s1, s2} {
		if got, err := b.Open(s, "p"); err != nil || got != "13812345678" {
			t.Fatalf("open %s: %v", s[:3], err)
		}
	}
	if a.Index("phone", "1") != b.Index("phone", "1") {
		t.Fatal("index changed with rotation")
	}
	for _, bad := range []string{"not-base64!", "{", `{"current":3,"keys":{"1":"` + random() + `"},"index":"` + idx + `"}`} {
		if _, _, err := Load(bad, ""); err == nil {
			t.Errorf("accepted bad key %q", bad)
		}
	}
}

func TestDerivedKeysStayOutsideTheData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k, _, err := Load("", dir)
	if err != nil {
		t.Fatal(err)
	}
	again, _, err := Load("", dir)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := Load("", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("one purpose gives the same key from the same key file", func(t *testing.T) {
		if a, b := k.Derive("audit"), again.Derive("audit"); string(a) != string(b) || len(a) != 32 {
			t.Errorf("derived keys differ or are not 32 bytes: %x %x", a, b)
		}
	})
	t.Run("purposes and key files give unrelated keys", func(t *testing.T) {
		if string(k.Derive("audit")) == string(k.Derive("other")) || string(k.Derive("audit")) == string(other.Derive("audit")) {
			t.Error("derived keys collide")
		}
	})
	t.Run("a derived key is not the index key", func(t *testing.T) {
		if string(k.Derive("audit")) == string(k.index) {
			t.Error("the derived key is the index key itself")
		}
	})
}

func TestSealedBytesOpenOnlyWhereTheyBelong(t *testing.T) {
	t.Parallel()
	k1 := `"1":"` + random() + `"`
	idx := random()
	a, _, err := Load(`{"current":1,"keys":{`+k1+`},"index":"`+idx+`"}`, "")
	if err != nil {
		t.Fatal(err)
	}
	photo := append([]byte{0xff, 0xd8, 0xff}, []byte(strings.Repeat("home of a resident ", 50))...)

	// Step 1: a sealed photo hides its bytes and opens under its own binding.
	sealed := a.SealBytes(photo, "vis_visits.photo:7")
	if strings.Contains(string(sealed), "home of a resident") || sealed[0] != 1 {
		t.Fatalf("sealed bytes leak the photo or lack the key version: % x", sealed[:8])
	}
	if got, err := a.OpenBytes(sealed, "vis_visits.photo:7"); err != nil || string(got) != string(photo) {
		t.Fatalf("open: %v", err)
	}
	// Step 2: the same bytes copied to another row or column do not open.
	for _, aad := range []string{"vis_visits.photo:8", "vis_visits.photo_thumb:7"} {
		if _, err := a.OpenBytes(sealed, aad); err == nil {
			t.Fatalf("opened under %s", aad)
		}
	}
	// Step 3: a changed byte, a cut value and a plain image are refused, not returned.
	changed := append([]byte(nil), sealed...)
	changed[len(changed)-1] ^= 1
	for name, bad := range map[string][]byte{"changed": changed, "cut": sealed[:10], "plain": photo, "empty": nil} {
		if got, err := a.OpenBytes(bad, "vis_visits.photo:7"); err == nil || got != nil {
			t.Fatalf("%s value opened", name)
		}
	}
	// Step 4: after rotation the old photo still opens and new ones use the new key.
	b, _, err := Load(`{"current":2,"keys":{`+k1+`,"2":"`+random()+`"},"index":"`+idx+`"}`, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.OpenBytes(sealed, "vis_visits.photo:7"); err != nil || string(got) != string(photo) {
		t.Fatalf("rotated keyring cannot open the old photo: %v", err)
	}
	if fresh := b.SealBytes(photo, "x"); fresh[0] != 2 {
		t.Fatalf("new photo sealed under version %d", fresh[0])
	}
	if _, err := a.OpenBytes(b.SealBytes(photo, "x"), "x"); err == nil {
		t.Fatal("a keyring without version 2 opened its value")
	}
}
