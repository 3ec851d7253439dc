package expr

import (
	"crypto/sha1"
	"encoding/hex"
	"math/bits"
	"strings"
)

// UniqueString is ARM's uniqueString(): the arguments joined with '-', UTF-8
// encoded, hashed with the 64-bit MurmurHash variant of Azure's resource
// stack (two interleaved 32-bit lanes with MurmurHash3's x86 constants and
// fmix32), and written as 13 characters of lowercase RFC 4648 base32, five
// bits at a time from the most significant end.
func UniqueString(parts ...string) string {
	h := murmur64([]byte(strings.Join(parts, "-")))
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	var out [13]byte
	for i := range out {
		out[i] = alphabet[h>>59]
		h <<= 5
	}
	return string(out[:])
}

func murmur64(data []byte) uint64 {
	const (
		c1 = 0x239b961b
		c2 = 0xab0e9789
	)
	n := len(data)
	var h1, h2 uint32
	i := 0
	le32 := func(b []byte) uint32 {
		var v uint32
		for j := len(b) - 1; j >= 0; j-- {
			v = v<<8 | uint32(b[j])
		}
		return v
	}
	for ; i+7 < n; i += 8 {
		k1 := le32(data[i : i+4])
		k2 := le32(data[i+4 : i+8])

		k1 *= c1
		k1 = bits.RotateLeft32(k1, 15)
		k1 *= c2
		h1 ^= k1
		h1 = bits.RotateLeft32(h1, 19)
		h1 += h2
		h1 = h1*5 + 0x561ccd1b

		k2 *= c2
		k2 = bits.RotateLeft32(k2, 17)
		k2 *= c1
		h2 ^= k2
		h2 = bits.RotateLeft32(h2, 13)
		h2 += h1
		h2 = h2*5 + 0x0bcaa747
	}
	if tail := n - i; tail > 0 {
		k1 := le32(data[i : i+min(tail, 4)])
		k1 *= c1
		k1 = bits.RotateLeft32(k1, 15)
		k1 *= c2
		h1 ^= k1
		if tail > 4 {
			k2 := le32(data[i+4 : n])
			k2 *= c2
			k2 = bits.RotateLeft32(k2, 17)
			k2 *= c1
			h2 ^= k2
		}
	}
	h1 ^= uint32(n)
	h2 ^= uint32(n)
	h1 += h2
	h2 += h1
	h1 = fmix32(h1)
	h2 = fmix32(h2)
	h1 += h2
	h2 += h1
	return uint64(h2)<<32 | uint64(h1)
}

func fmix32(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// armGUIDNamespace is the namespace ARM's guid() hashes names in.
var armGUIDNamespace = [16]byte{0x11, 0xfb, 0x06, 0xfb, 0x71, 0x2d, 0x4d, 0xdd, 0x98, 0xc7, 0xe7, 0x1b, 0xbd, 0x58, 0x88, 0x30}

// GUID is ARM's guid(): a name-based (RFC 4122 §4.3, version 5, SHA-1) UUID
// of the arguments joined with '-' (UTF-8) in namespace
// 11fb06fb-712d-4ddd-98c7-e71bbd588830, lowercase with hyphens.
func GUID(parts ...string) string {
	h := sha1.New()
	h.Write(armGUIDNamespace[:])
	h.Write([]byte(strings.Join(parts, "-")))
	sum := h.Sum(nil)
	sum[6] = sum[6]&0x0f | 0x50
	sum[8] = sum[8]&0x3f | 0x80
	var buf [36]byte
	hex.Encode(buf[0:8], sum[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], sum[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], sum[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], sum[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:36], sum[10:16])
	return string(buf[:])
}
