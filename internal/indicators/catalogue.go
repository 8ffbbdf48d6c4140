package indicators

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

//go:embed data/plan_indicators.csv
var planCSV []byte

// Indicator is a catalogue entry with its formula.
type Indicator struct {
	ID         string   `json:"id"`
	Source     string   `json:"source"`
	NameZH     string   `json:"name_zh"`
	NameEN     string   `json:"name_en"`
	Unit       string   `json:"unit"`
	Baseline   *float64 `json:"baseline_2020"`
	Target     *float64 `json:"plan_target"`
	TargetYear int      `json:"target_year"`
	Attribute  string   `json:"attribute"` // 预期性 / 约束性 / 基本形成
	Direction  string   `json:"direction"` // higher / lower / "" (no direction)
	Binding    bool     `json:"binding"`
	Formula    Formula  `json:"-"`
	Expression string   `json:"formula"`
	Why        string   `json:"why"`
	// Owner is the division that defined an own indicator ("" for the
	// plan's); Definition is its formula as entered, over element keys.
	Owner      string `json:"owner_division,omitempty"`
	Definition string `json:"definition,omitempty"`
}

// Catalogue parses the plan's indicators and joins each to its formula,
// written with the names of the elements in els.
func Catalogue(els Elements) ([]Indicator, error) {
	r := csv.NewReader(bytes.NewReader(planCSV))
	recs, err := r.ReadAll()
	if err != nil {
		return nil, err
	}
	var out []Indicator
	for _, rec := range recs[1:] {
		if len(rec) != 10 {
			return nil, fmt.Errorf("plan_indicators.csv: %d columns in %v", len(rec), rec)
		}
		in := Indicator{ID: rec[0], Source: rec[1], NameZH: rec[2], NameEN: rec[3], Unit: rec[4], Attribute: rec[8], Direction: rec[9]}
		if in.Baseline, err = num(rec[5]); err != nil {
			return nil, fmt.Errorf("plan_indicators.csv: %s baseline: %w", in.ID, err)
		}
		if in.Target, err = num(rec[6]); err != nil {
			return nil, fmt.Errorf("plan_indicators.csv: %s target: %w", in.ID, err)
		}
		if in.TargetYear, err = strconv.Atoi(rec[7]); err != nil {
			return nil, fmt.Errorf("plan_indicators.csv: %s target year: %w", in.ID, err)
		}
		in.Binding = in.Attribute == "约束性"
		f, ok := Formulas[in.ID]
		if !ok {
			return nil, fmt.Errorf("indicator %s has no formula", in.ID)
		}
		in.Formula, in.Why, in.Expression = f, f.Why, f.describe(els.name)
		out = append(out, in)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Binding && !out[j].Binding })
	return out, nil
}

// num reads an optional number: blank is none.
func num(s string) (*float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// describe writes the formula with the names that name gives.
func (f Formula) describe(nameOf func(string) string) string {
	name := func(k string) string { return "Σ" + nameOf(k) }
	s := name(f.Num)
	if f.Den != "" {
		s += " ÷ " + name(f.Den)
	}
	if f.Num2 != "" {
		s = "(" + s + ") ÷ (" + name(f.Num2) + " ÷ " + name(f.Den2) + ")"
	}
	if f.Factor != 1 {
		s = strconv.FormatFloat(f.Factor, 'f', -1, 64) + " × " + s
	}
	return s
}
