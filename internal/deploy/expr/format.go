package expr

import (
	"math"
	"math/big"
	"strconv"
	"strings"
)

// format() is .NET's composite formatting (String.Format with the
// invariant culture): "{index[,alignment][:formatString]}", with "{{" and
// "}}" for literal braces. Supported format strings: the standard numeric
// ones (C, D, E, F, G, N, P, R, X, each with an optional precision) and
// custom numeric formats built from 0, #, '.', ',', '%', quoted literals
// and '\' escapes, with an optional ';' negative section.

const formatHelp = "https://aka.ms/arm-functions#format"

func errFormat() error {
	return fnError("format", "Input string was not in a correct format. Please see %s for usage details.", formatHelp)
}

// composite formats args into the .NET composite format string f.
func composite(f string, args []any) (string, error) {
	var b strings.Builder
	for i := 0; i < len(f); {
		c := f[i]
		switch c {
		case '{':
			if i+1 < len(f) && f[i+1] == '{' {
				b.WriteByte('{')
				i += 2
				continue
			}
			end := strings.IndexByte(f[i:], '}')
			if end < 0 {
				return "", errFormat()
			}
			item := f[i+1 : i+end]
			i += end + 1
			s, err := formatItem(item, args)
			if err != nil {
				return "", err
			}
			b.WriteString(s)
		case '}':
			if i+1 < len(f) && f[i+1] == '}' {
				b.WriteByte('}')
				i += 2
				continue
			}
			return "", errFormat()
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

func formatItem(item string, args []any) (string, error) {
	spec := ""
	if k := strings.IndexByte(item, ':'); k >= 0 {
		item, spec = item[:k], item[k+1:]
	}
	align := 0
	if k := strings.IndexByte(item, ','); k >= 0 {
		a, err := strconv.Atoi(strings.TrimSpace(item[k+1:]))
		if err != nil || a > 1<<20 || a < -(1<<20) {
			return "", errFormat()
		}
		align, item = a, item[:k]
	}
	idx, err := strconv.Atoi(strings.TrimRight(item, " "))
	if err != nil || idx < 0 || strings.HasPrefix(item, "+") {
		return "", errFormat()
	}
	if idx >= len(args) {
		return "", fnError("format", "Index (zero based) must be greater than or equal to zero and less than the size of the argument list. Please see %s for usage details.", formatHelp)
	}
	s, err := formatValue(args[idx], spec)
	if err != nil {
		return "", err
	}
	if n := utf16Len(s); align > n {
		s = strings.Repeat(" ", align-n) + s
	} else if -align > n {
		s += strings.Repeat(" ", -align-n)
	}
	return s, nil
}

// formatValue renders one argument the way .NET formats the CLR value ARM
// converts the JSON token to.
func formatValue(v any, spec string) (string, error) {
	switch t := v.(type) {
	case nil:
		return "", nil
	case string:
		return t, nil
	case bool:
		if t {
			return "True", nil
		}
		return "False", nil
	case int64:
		return formatInt(t, spec)
	case float64:
		return formatFloat(t, spec)
	case []any, *Object:
		b, err := appendJSON(nil, v, true, 0)
		return string(b), err
	}
	return "", errFormat()
}

// standardSpec splits a standard numeric format ("D3") into its letter and
// precision; ok is false for custom formats.
func standardSpec(spec string) (letter byte, prec int, hasPrec, ok bool) {
	if spec == "" {
		return 'G', 0, false, true
	}
	c := spec[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return 0, 0, false, false
	}
	if len(spec) == 1 {
		return c, 0, false, true
	}
	if len(spec) > 4 {
		return 0, 0, false, false
	}
	p, err := strconv.Atoi(spec[1:])
	if err != nil || p < 0 || p > 999 || strings.HasPrefix(spec[1:], "+") || strings.HasPrefix(spec[1:], "-") {
		return 0, 0, false, false
	}
	return c, p, true, true
}

func formatInt(n int64, spec string) (string, error) {
	letter, prec, hasPrec, ok := standardSpec(spec)
	if !ok {
		return formatCustom(new(big.Float).SetInt64(n), n < 0, spec)
	}
	neg := n < 0
	abs := strconv.FormatUint(absInt(n), 10)
	switch letter {
	case 'D', 'd':
		if len(abs) < prec {
			abs = strings.Repeat("0", prec-len(abs)) + abs
		}
		return sign(neg) + abs, nil
	case 'X', 'x':
		h := strconv.FormatUint(uint64(n), 16)
		if letter == 'X' {
			h = strings.ToUpper(h)
		}
		if len(h) < prec {
			h = strings.Repeat("0", prec-len(h)) + h
		}
		return h, nil
	case 'G', 'g', 'R', 'r':
		if hasPrec && prec > 0 && len(abs) > prec {
			return formatFloat(float64(n), spec)
		}
		return sign(neg) + abs, nil
	case 'N', 'n', 'F', 'f', 'P', 'p', 'C', 'c', 'E', 'e':
		return formatDecimal(new(big.Float).SetInt64(n), neg, letter, prec, hasPrec)
	}
	return "", errFormat()
}

func absInt(n int64) uint64 {
	if n < 0 {
		return uint64(-(n + 1)) + 1
	}
	return uint64(n)
}

func sign(neg bool) string {
	if neg {
		return "-"
	}
	return ""
}

func formatFloat(f float64, spec string) (string, error) {
	if math.IsNaN(f) {
		return "NaN", nil
	}
	if math.IsInf(f, 0) {
		if f > 0 {
			return "∞", nil
		}
		return "-∞", nil
	}
	letter, prec, hasPrec, ok := standardSpec(spec)
	if !ok {
		return formatCustom(new(big.Float).SetFloat64(f), f < 0, spec)
	}
	switch letter {
	case 'G', 'g', 'R', 'r':
		return formatGeneral(f, letter, prec, hasPrec && letter != 'R' && letter != 'r'), nil
	case 'N', 'n', 'F', 'f', 'P', 'p', 'C', 'c', 'E', 'e':
		return formatDecimal(new(big.Float).SetFloat64(f), f < 0, letter, prec, hasPrec)
	}
	return "", errFormat()
}

// formatGeneral is .NET's "G" for doubles: the shortest round-trip digits
// (or prec significant digits), scientific when the exponent is at least
// the precision (15 for the default) or below -5.
func formatGeneral(f float64, letter byte, prec int, hasPrec bool) string {
	var digits string
	var exp int
	if hasPrec && prec > 0 {
		digits, exp = decimalDigits(new(big.Float).SetFloat64(f), prec)
	} else {
		e := strconv.FormatFloat(math.Abs(f), 'e', -1, 64)
		mant, ex, _ := strings.Cut(e, "e")
		digits = strings.Replace(mant, ".", "", 1)
		exp, _ = strconv.Atoi(ex)
	}
	digits = strings.TrimRight(digits, "0")
	if digits == "" {
		return "0"
	}
	limit := 15
	if hasPrec && prec > 0 {
		limit = prec
	}
	neg := f < 0
	if exp >= limit || exp < -5 {
		s := digits[:1]
		if len(digits) > 1 {
			s += "." + digits[1:]
		}
		e := "E"
		if letter == 'g' {
			e = "e"
		}
		es := "+"
		if exp < 0 {
			es = "-"
			exp = -exp
		}
		ed := strconv.Itoa(exp)
		if len(ed) < 2 {
			ed = "0" + ed
		}
		return sign(neg) + s + e + es + ed
	}
	var s string
	if exp < 0 {
		s = "0." + strings.Repeat("0", -exp-1) + digits
	} else if exp+1 >= len(digits) {
		s = digits + strings.Repeat("0", exp+1-len(digits))
	} else {
		s = digits[:exp+1] + "." + digits[exp+1:]
	}
	return sign(neg) + s
}

// decimalDigits returns n significant digits of |x| rounded half away from
// zero, and the decimal exponent of the first digit.
func decimalDigits(x *big.Float, n int) (string, int) {
	x = new(big.Float).Abs(x)
	if x.Sign() == 0 {
		return strings.Repeat("0", n), 0
	}
	s := x.Text('e', 1200) // exact for float64 and int64
	mant, ex, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(ex)
	digits := strings.Replace(mant, ".", "", 1)
	digits = strings.TrimRight(digits, "0")
	r, carry := roundDigits(digits, n)
	if carry {
		exp++
	}
	return r, exp
}

// roundDigits rounds a digit string to n digits, half away from zero.
func roundDigits(digits string, n int) (string, bool) {
	if len(digits) <= n {
		return digits + strings.Repeat("0", n-len(digits)), false
	}
	out := []byte(digits[:n])
	if digits[n] >= '5' {
		i := n - 1
		for ; i >= 0; i-- {
			if out[i] == '9' {
				out[i] = '0'
				continue
			}
			out[i]++
			break
		}
		if i < 0 {
			return "1" + string(out[:len(out)-1]), true
		}
	}
	return string(out), false
}

// fixed returns |x| with frac fractional digits, rounded half away from
// zero, as integer and fraction digit strings.
func fixed(x *big.Float, frac int) (string, string) {
	x = new(big.Float).Abs(x)
	s := x.Text('f', 1200)
	ip, fp, _ := strings.Cut(s, ".")
	fp = strings.TrimRight(fp, "0")
	all := ip + fp
	n := len(ip) + frac
	r, carry := roundDigits(all, n)
	if carry {
		ip = r[:len(ip)+1]
		return ip, r[len(ip):]
	}
	return r[:len(ip)], r[len(ip):]
}

func group(ip string) string {
	if len(ip) <= 3 {
		return ip
	}
	var b strings.Builder
	pre := len(ip) % 3
	if pre > 0 {
		b.WriteString(ip[:pre])
	}
	for i := pre; i < len(ip); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(ip[i : i+3])
	}
	return b.String()
}

func formatDecimal(x *big.Float, neg bool, letter byte, prec int, hasPrec bool) (string, error) {
	if !hasPrec {
		prec = 2
		if letter == 'E' || letter == 'e' {
			prec = 6
		}
	}
	switch letter {
	case 'F', 'f', 'N', 'n', 'C', 'c':
		ip, fp := fixed(x, prec)
		if letter != 'F' && letter != 'f' {
			ip = group(ip)
		}
		s := ip
		if fp != "" {
			s += "." + fp
		}
		if allZero(ip + fp) {
			neg = false
		}
		if letter == 'C' || letter == 'c' {
			if neg {
				return "(¤" + s + ")", nil
			}
			return "¤" + s, nil
		}
		return sign(neg) + s, nil
	case 'P', 'p':
		ip, fp := fixed(new(big.Float).SetPrec(256).Mul(x, big.NewFloat(100)), prec)
		s := group(ip)
		if fp != "" {
			s += "." + fp
		}
		if allZero(ip + fp) {
			neg = false
		}
		return sign(neg) + s + " %", nil
	case 'E', 'e':
		digits, exp := decimalDigits(x, prec+1)
		if x.Sign() == 0 {
			exp = 0
		}
		s := digits[:1]
		if prec > 0 {
			s += "." + digits[1:]
		}
		es := "+"
		if exp < 0 {
			es, exp = "-", -exp
		}
		ed := strconv.Itoa(exp)
		for len(ed) < 3 {
			ed = "0" + ed
		}
		return sign(neg) + s + string(letter) + es + ed, nil
	}
	return "", errFormat()
}

func allZero(s string) bool { return strings.Trim(s, "0") == "" }

// formatCustom handles custom numeric format strings such as "000",
// "#,##0.00" or "0.#%".
func formatCustom(x *big.Float, neg bool, spec string) (string, error) {
	sections := splitSections(spec)
	section := sections[0]
	if neg && len(sections) > 1 && sections[1] != "" {
		section = sections[1]
		neg = false // the negative section supplies its own sign
	} else if neg && len(sections) > 1 && sections[1] == "" {
		section = sections[0]
	}
	// Scan placeholders.
	intZeros, intDigits, fracZeros, fracDigits := 0, 0, 0, 0
	grouping, inFrac, percent := false, false, 0
	scaleCommas := 0
	lastWasDigit := false
	for i := 0; i < len(section); i++ {
		c := section[i]
		switch c {
		case '\\':
			i++
		case '\'', '"':
			j := strings.IndexByte(section[i+1:], c)
			if j < 0 {
				i = len(section)
			} else {
				i += j + 1
			}
		case '0', '#':
			if inFrac {
				fracDigits++
				if c == '0' {
					fracZeros = fracDigits
				}
			} else {
				intDigits++
				if c == '0' || intZeros > 0 {
					intZeros++
				}
				if scaleCommas > 0 {
					grouping = true
					scaleCommas = 0
				}
			}
			lastWasDigit = true
			continue
		case '.':
			inFrac = true
		case ',':
			if !inFrac && lastWasDigit {
				scaleCommas++
				lastWasDigit = true
				continue
			}
		case '%':
			percent++
		}
		lastWasDigit = false
	}
	v := new(big.Float).SetPrec(256).Set(x)
	for i := 0; i < percent; i++ {
		v.Mul(v, big.NewFloat(100))
	}
	for i := 0; i < scaleCommas; i++ { // trailing commas divide by 1000
		v.Quo(v, big.NewFloat(1000))
	}
	ip, fp := fixed(v, fracDigits)
	fp = strings.TrimRight(fp, "0")
	if len(fp) < fracZeros {
		fp += strings.Repeat("0", fracZeros-len(fp))
	}
	ip = strings.TrimLeft(ip, "0")
	if len(ip) < intZeros {
		ip = strings.Repeat("0", intZeros-len(ip)) + ip
	}
	if grouping {
		ip = group(ip)
	}
	if allZero(ip + fp) {
		neg = false
	}
	// Emit: the integer digits replace the first integer placeholder
	// run, the fraction the fraction placeholders; literals stay.
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	wroteInt, inFrac := false, false
	fpos := 0
	for i := 0; i < len(section); i++ {
		c := section[i]
		switch c {
		case '\\':
			if i+1 < len(section) {
				i++
				b.WriteByte(section[i])
			}
		case '\'', '"':
			j := strings.IndexByte(section[i+1:], c)
			if j < 0 {
				b.WriteString(section[i+1:])
				i = len(section)
			} else {
				b.WriteString(section[i+1 : i+1+j])
				i += j + 1
			}
		case '0', '#':
			if inFrac {
				if fpos < len(fp) {
					b.WriteByte(fp[fpos])
				}
				fpos++
			} else if !wroteInt {
				b.WriteString(ip)
				wroteInt = true
			}
		case ',':
			// grouping or scaling, already applied
		case '.':
			if !wroteInt {
				b.WriteString(ip)
				wroteInt = true
			}
			inFrac = true
			if len(fp) > 0 {
				b.WriteByte('.')
			}
		default:
			b.WriteByte(c)
		}
	}
	_ = intDigits
	return b.String(), nil
}

func splitSections(spec string) []string {
	var out []string
	start := 0
	for i := 0; i < len(spec); i++ {
		switch spec[i] {
		case '\\':
			i++
		case '\'', '"':
			if j := strings.IndexByte(spec[i+1:], spec[i]); j >= 0 {
				i += j + 1
			} else {
				i = len(spec)
			}
		case ';':
			out = append(out, spec[start:i])
			start = i + 1
		}
	}
	return append(out, spec[start:])
}
