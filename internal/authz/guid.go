package authz

// Role assignment names are GUIDs; the engine keeps them in 16 bytes.

// parseGUID reads a GUID in its 36-character form, in either case.
func parseGUID(s string) (g [16]byte, ok bool) {
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

// formatGUID writes a GUID in lower case.
func formatGUID(g [16]byte) string {
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
