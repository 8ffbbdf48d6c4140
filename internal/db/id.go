package db

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// NewID returns a 32-hex-digit identifier that sorts by creation time
// (48-bit milliseconds, then 80 random bits, as UUIDv7). Identifiers are made
// here, not by server-side sequences, so that rows can move between shards.
func NewID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	rand.Read(b[6:])
	return hex.EncodeToString(b[:])
}
