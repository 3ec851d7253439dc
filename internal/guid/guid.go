// Package guid keeps GUIDs in 16 bytes: the in-memory indexes hold
// millions of them (role assignment names, object and application IDs),
// and as strings each would cost a 48-byte allocation and a 16-byte header.
package guid

// GUID is a GUID's 16 bytes, in the order of its 36-character form.
type GUID [16]byte

// Parse reads a GUID in its 36-character form, in either case.
func Parse(s string) (g GUID, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, ok1 := fromHex(s[i])
		lo, ok2 := fromHex(s[i+1])
		if !ok1 || !ok2 {
			return g, false
		}
		g[j] = hi<<4 | lo
		j++
		i += 2
	}
	return g, true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// String writes the GUID in its 36-character form, in lower case.
func (g GUID) String() string {
	const hex = "0123456789abcdef"
	var b [36]byte
	j := 0
	for i, x := range g {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hex[x>>4], hex[x&0xf]
		j += 2
	}
	return string(b[:])
}
