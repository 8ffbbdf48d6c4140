//go:build !pbf

package circle

import "io"

// ReadOSMPBF reports that PBF support was left out of this build.
func ReadOSMPBF(r io.Reader, name string) (*OSMData, error) {
	return nil, &InputError{File: name,
		Zh: "此版本未编译 PBF 支持：用 -tags pbf 重新编译，或先用 osmium cat 转为 .osm",
		En: "PBF support is not built in: rebuild with -tags pbf, or convert with osmium cat to .osm"}
}
