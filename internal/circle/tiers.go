package circle

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

//go:embed tiers.json
var defaultTiersJSON []byte

// Category is a kind of facility.
type Category struct {
	ID     string  `json:"id"`
	Zh     string  `json:"zh"`
	En     string  `json:"en"`
	PerKm2 float64 `json:"per_km2"` // synthetic density for demos and benchmarks
}

// Tier is one life circle: the categories it requires within a time.
type Tier struct {
	ID         string   `json:"id"`
	Zh         string   `json:"zh"`
	En         string   `json:"en"`
	Minutes    float64  `json:"minutes"`
	WalkMetres float64  `json:"walk_metres"` // the standard's walking radius, for reference
	Applies    string   `json:"applies"`     // urban, rural or all
	Source     string   `json:"source"`
	Categories []string `json:"categories"`
}

// Tiers is the tier data file.
type Tiers struct {
	Note       string     `json:"note"`
	Categories []Category `json:"categories"`
	Tiers      []Tier     `json:"tiers"`
}

// DefaultTiers returns the embedded GB 50180-2018 and plan tiers.
func DefaultTiers() *Tiers {
	t, err := LoadTiers(strings.NewReader(string(defaultTiersJSON)))
	if err != nil {
		panic(err) // the embedded file is checked by a test
	}
	return t
}

// LoadTiers reads and validates a tier file.
func LoadTiers(r io.Reader) (*Tiers, error) {
	var t Tiers
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("圈层定义无法解析 / cannot parse tier file: %w", err)
	}
	seen := map[string]bool{}
	for _, c := range t.Categories {
		if c.ID == "" || seen[c.ID] {
			return nil, fmt.Errorf("圈层定义: 类别编号为空或重复 / tier file: empty or duplicate category id %q", c.ID)
		}
		seen[c.ID] = true
	}
	for _, tr := range t.Tiers {
		if !(tr.Minutes > 0) {
			return nil, fmt.Errorf("圈层 %s: 时间阈值必须大于 0 / tier %s: minutes must be > 0", tr.ID, tr.ID)
		}
		if _, err := SecondsToTicks(tr.Minutes * 60); err != nil {
			return nil, fmt.Errorf("圈层 %s / tier %s: %w", tr.ID, tr.ID, err)
		}
		switch tr.Applies {
		case "urban", "rural", "all":
		default:
			return nil, fmt.Errorf("圈层 %s: applies 必须是 urban/rural/all / tier %s: applies must be urban, rural or all", tr.ID, tr.ID)
		}
		for _, c := range tr.Categories {
			if !seen[c] {
				return nil, fmt.Errorf("圈层 %s 引用未知类别 %s / tier %s names unknown category %s", tr.ID, c, tr.ID, c)
			}
		}
	}
	return &t, nil
}

// Tier returns the tier with the given id.
func (t *Tiers) Tier(id string) (*Tier, bool) {
	for i := range t.Tiers {
		if t.Tiers[i].ID == id {
			return &t.Tiers[i], true
		}
	}
	return nil, false
}

// CategoryID resolves a category by id or by its Chinese or English name.
func (t *Tiers) CategoryID(name string) (string, bool) {
	name = strings.TrimSpace(name)
	for _, c := range t.Categories {
		if name == c.ID || name == c.Zh || strings.EqualFold(name, c.En) {
			return c.ID, true
		}
		for _, part := range strings.Split(c.Zh, "/") {
			if name == part {
				return c.ID, true
			}
		}
	}
	return "", false
}

// UnitClass tells urban from rural by digits 10–12 of a 12-digit division
// code: 001–199 residents' committees (urban), 200–399 villagers'
// committees (rural). Other codes are "".
func UnitClass(code string) string {
	if len(code) != 12 {
		return ""
	}
	switch code[9] {
	case '0', '1':
		return "urban"
	case '2', '3':
		return "rural"
	}
	return ""
}

// AppliesTo reports whether the tier is meant for the unit.
func (tr *Tier) AppliesTo(unit string) bool {
	c := UnitClass(unit)
	return tr.Applies == "all" || c == "" || c == tr.Applies
}
