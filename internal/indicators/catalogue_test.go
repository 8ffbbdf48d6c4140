package indicators

import (
	"testing"
	"time"
)

func TestCatalogueComplete(t *testing.T) {
	inds, err := Catalogue(Builtin(time.Now))
	if err != nil {
		t.Fatal(err)
	}
	if len(inds) != 43 {
		t.Fatalf("%d indicators, want 43", len(inds))
	}
	if !inds[0].Binding {
		t.Fatal("binding indicators must come first")
	}
}
