// Package divisions holds the statistical divisions of Zhejiang (province →
// city → county → township → village/community), the key of every business
// row, with per-year unit attributes and designations.
package divisions

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Level of a division, 1 (province) to 5 (village/community).
type Level int

// CodeLen is the length of a code at each level.
var CodeLen = [...]int{0, 2, 4, 6, 9, 12}

// LevelName is the bilingual name of a level.
func LevelName(l int) (zh, en string) {
	switch l {
	case 1:
		return "省", "Province"
	case 2:
		return "市", "City"
	case 3:
		return "县(市、区)", "County"
	case 4:
		return "乡镇(街道)", "Township"
	case 5:
		return "村(社区)", "Village/community"
	}
	return "?", "?"
}

// LevelOf returns the level of a well-formed code, or 0.
func LevelOf(code string) int {
	for l := 1; l <= 5; l++ {
		if len(code) == CodeLen[l] {
			return l
		}
	}
	return 0
}

// ValidCode tells whether code has the form of a division code: 2, 4, 6, 9
// or 12 digits.
func ValidCode(code string) bool {
	if LevelOf(code) == 0 {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// ParentCode returns the code of the enclosing division ("" for a province).
func ParentCode(code string) string {
	l := LevelOf(code)
	if l <= 1 {
		return ""
	}
	return code[:CodeLen[l-1]]
}

// Ancestors returns the codes of every enclosing division, top first.
func Ancestors(code string) []string {
	var out []string
	for l := 1; l < LevelOf(code); l++ {
		out = append(out, code[:CodeLen[l]])
	}
	return out
}

// Urban/rural classes of a village-level unit, from digits 10–12 of its code
// (NBS urban-rural division codes): 0xx–1xx residents' committees and 4xx
// similar units are urban communities; 2xx–3xx villagers' committees and 5xx
// similar units are rural.
const (
	Urban = "urban"
	Rural = "rural"
)

// UrbanRural classifies a village-level code; "" for other levels.
func UrbanRural(code string) string {
	if LevelOf(code) != 5 {
		return ""
	}
	switch code[9] {
	case '0', '1', '4':
		return Urban
	case '2', '3', '5':
		return Rural
	}
	return ""
}

// Division is one administrative unit.
type Division struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	Level      int    `json:"level"`
	ParentCode string `json:"parent_code,omitempty"`
	UrbanRural string `json:"urban_rural,omitempty"`
	FullName   string `json:"full_name"`
	Children   int    `json:"children_count"`
}

// RowError names a bad line of an input file.
type RowError struct {
	Row    int    `json:"row"`    // 1-based line number, header is line 1
	Column string `json:"column"` // column name
	ZH     string `json:"message"`
	EN     string `json:"message_en"`
}

func (e RowError) Error() string {
	return fmt.Sprintf("第 %d 行 %s 列：%s / line %d column %s: %s", e.Row, e.Column, e.ZH, e.Row, e.Column, e.EN)
}

// RowErrors is the report of every bad row of a file.
type RowErrors []RowError

func (es RowErrors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// ParseCSV reads divisions as "code,name,level,parent_code" and checks that
// they form one tree: every code well formed, its level matching its length,
// its parent present and its prefix. Errors for every bad row are returned
// together; no division is returned if any row is bad.
func ParseCSV(r io.Reader) ([]Division, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, RowErrors{{Row: 1, Column: "-", ZH: "缺少表头", EN: "missing header"}}
	}
	want := []string{"code", "name", "level", "parent_code"}
	if len(head) < 4 {
		return nil, RowErrors{{Row: 1, Column: "-", ZH: "表头须为 code,name,level,parent_code", EN: "header must be code,name,level,parent_code"}}
	}
	for i, w := range want {
		if strings.TrimPrefix(strings.TrimSpace(head[i]), "\ufeff") != w {
			return nil, RowErrors{{Row: 1, Column: w, ZH: "表头须为 code,name,level,parent_code", EN: "header must be code,name,level,parent_code"}}
		}
	}
	var out []Division
	var errs RowErrors
	seen := map[string]bool{}
	line := 1
	for {
		rec, err := cr.Read()
		line++
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, RowError{Row: line, Column: "-", ZH: "CSV 格式错误", EN: "malformed CSV"})
			if len(errs) > 100 {
				break
			}
			continue
		}
		if len(rec) != 4 {
			errs = append(errs, RowError{Row: line, Column: "-", ZH: "应有 4 列", EN: "expected 4 columns"})
			continue
		}
		d := Division{Code: strings.TrimSpace(rec[0]), Name: strings.TrimSpace(rec[1]), ParentCode: strings.TrimSpace(rec[3])}
		lvl, lerr := strconv.Atoi(strings.TrimSpace(rec[2]))
		d.Level = lvl
		switch {
		case !ValidCode(d.Code):
			errs = append(errs, RowError{Row: line, Column: "code", ZH: "区划代码须为 2/4/6/9/12 位数字", EN: "division code must be 2, 4, 6, 9 or 12 digits"})
		case seen[d.Code]:
			errs = append(errs, RowError{Row: line, Column: "code", ZH: "区划代码重复", EN: "duplicate division code"})
		case d.Name == "" || !utf8.ValidString(d.Name) || len(d.Name) > 200:
			errs = append(errs, RowError{Row: line, Column: "name", ZH: "名称为空或无效", EN: "name is empty or invalid"})
		case lerr != nil || lvl != LevelOf(d.Code):
			errs = append(errs, RowError{Row: line, Column: "level", ZH: "层级与代码长度不符", EN: "level does not match the code's length"})
		case d.ParentCode != ParentCode(d.Code):
			errs = append(errs, RowError{Row: line, Column: "parent_code", ZH: "上级代码须为本代码的前缀", EN: "parent code must be the code's prefix"})
		case d.ParentCode != "" && !seen[d.ParentCode]:
			errs = append(errs, RowError{Row: line, Column: "parent_code", ZH: "上级区划须在本行之前出现", EN: "parent division must appear before this row"})
		default:
			seen[d.Code] = true
			d.UrbanRural = UrbanRural(d.Code)
			out = append(out, d)
		}
		if len(errs) > 100 {
			break
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if len(out) == 0 {
		return nil, RowErrors{{Row: 2, Column: "-", ZH: "文件没有数据行", EN: "file has no data rows"}}
	}
	// Full names and child counts.
	byCode := make(map[string]int, len(out))
	for i := range out {
		byCode[out[i].Code] = i
		if p := out[i].ParentCode; p != "" {
			out[byCode[p]].Children++
			out[i].FullName = out[byCode[p]].FullName + out[i].Name
		} else {
			out[i].FullName = out[i].Name
		}
	}
	return out, nil
}
