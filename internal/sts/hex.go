package sts

import (
	"encoding/hex"
	"strings"
)

func hexDecode(s string) ([]byte, error) {
	return hex.DecodeString(strings.NewReplacer(":", "", " ", "").Replace(s))
}
