package expr

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

func init() {
	fn("string", "base64", 1, 1, fnBase64)
	fn("string", "base64ToString", 1, 1, fnBase64ToString)
	fn("string", "base64ToJson", 1, 1, fnBase64ToJSON)
	fn("string", "dataUri", 1, 1, fnDataURI)
	fn("string", "dataUriToString", 1, 1, fnDataURIToString)
	fn("string", "endsWith", 2, 2, fnEndsWith)
	fn("string", "startsWith", 2, 2, fnStartsWith)
	fn("string", "format", 1, -1, fnFormat)
	fn("string", "guid", 1, -1, fnGUID)
	fn("string", "uniqueString", 1, -1, fnUniqueString)
	fn("string", "join", 2, 2, fnJoin)
	fn("string", "json", 1, 1, fnJSON)
	ng := fn("string", "newGuid", 0, 0, fnNewGUID)
	ng.ParameterDefaultOnly = true
	fn("string", "padLeft", 2, 3, fnPadLeft)
	fn("string", "replace", 3, 3, fnReplace)
	fn("string", "split", 2, 2, fnSplit)
	fn("string", "string", 1, 1, fnString)
	fn("string", "substring", 2, 3, fnSubstring)
	fn("string", "toLower", 1, 1, fnToLower)
	fn("string", "toUpper", 1, 1, fnToUpper)
	fn("string", "trim", 1, 1, fnTrim)
	fn("string", "uri", 2, 2, fnURI)
	fn("string", "uriComponent", 1, 1, fnURIComponent)
	fn("string", "uriComponentToString", 1, 1, fnURIComponentToString)
}

// maxStringLength bounds any string a function builds (padLeft, format,
// concat, ...): ARM's whole template is limited to 4 MB.
const maxStringLength = 4 << 20

func (ev *evaluator) chargeString(s string) error {
	if len(s) > maxStringLength {
		return errorf("The template language expression produced a string of '%d' characters, more than the '%d' keyless allows.", len(s), maxStringLength)
	}
	return ev.charge(int64(len(s)))
}

// concatString is how ARM renders a value inside a string concat (its
// JToken.ToString for primitives): integers in decimal, booleans as
// True/False, null as nothing.
func concatString(name string, i int, v any) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case int64:
		return strconv.FormatInt(t, 10), nil
	case bool:
		if t {
			return "True", nil
		}
		return "False", nil
	case nil:
		return "", nil
	case float64:
		return formatGeneral(t, 'G', 0, false), nil
	}
	return "", errorf("The template language function '%s' expects its parameters to be either all arrays or all strings, integers and booleans. The %s parameter is of type '%s'. Please see %s for usage details.", name, ordinal(i), TypeName(v), FunctionsHelp)
}

func fnBase64(ev *evaluator, name string, args []any) (any, error) {
	s, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	out := base64.StdEncoding.EncodeToString([]byte(s))
	return out, ev.chargeString(out)
}

// decodeBase64 is .NET's Convert.FromBase64String: whitespace ignored,
// padding required.
func decodeBase64(name, s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
	b, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		return nil, fnError(name, "The input is not a valid Base-64 string as it contains a non-base 64 character, more than two padding characters, or an illegal character among the padding characters.")
	}
	return b, nil
}

func utf8String(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func fnBase64ToString(ev *evaluator, name string, args []any) (any, error) {
	s, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	b, err := decodeBase64(name, s)
	if err != nil {
		return nil, err
	}
	return utf8String(b), nil
}

func fnBase64ToJSON(ev *evaluator, name string, args []any) (any, error) {
	s, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	b, err := decodeBase64(name, s)
	if err != nil {
		return nil, err
	}
	return parseJSONArg(ev, name, utf8String(b))
}

func parseJSONArg(ev *evaluator, name, s string) (any, error) {
	if err := ev.charge(int64(len(s))); err != nil {
		return nil, err
	}
	v, err := parseLenientJSON(s)
	if err != nil {
		shown := s
		if len(shown) > 200 {
			shown = shown[:200] + "..."
		}
		return nil, errorf("The template language function '%s' parameter is not valid. The provided value '%s' cannot be parsed: '%s'. Please see %s for usage details.", name, shown, err.Error(), FunctionsHelp)
	}
	return v, nil
}

func fnDataURI(ev *evaluator, name string, args []any) (any, error) {
	s, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	out := "data:text/plain;charset=utf8;base64," + base64.StdEncoding.EncodeToString([]byte(s))
	return out, ev.chargeString(out)
}

func fnDataURIToString(ev *evaluator, name string, args []any) (any, error) {
	s, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(strings.ToLower(s), "data:") {
		return nil, fnError(name, "the value '%s' is not a valid data URI.", s)
	}
	meta, data, ok := strings.Cut(s[5:], ",")
	if !ok {
		return nil, fnError(name, "the value '%s' is not a valid data URI.", s)
	}
	if strings.HasSuffix(strings.ToLower(meta), ";base64") {
		b, err := decodeBase64(name, data)
		if err != nil {
			return nil, err
		}
		return utf8String(b), nil
	}
	return unescapeData(data), nil
}

// foldRunes lowercases rune by rune, keeping one rune per input rune so
// indexes line up with the original.
func foldRunes(s string) []rune {
	r := []rune(s)
	for i, c := range r {
		r[i] = unicode.ToLower(c)
	}
	return r
}

func runeIndex(hay, needle []rune, last bool) int {
	if len(needle) > len(hay) {
		return -1
	}
	if last {
		for i := len(hay) - len(needle); i >= 0; i-- {
			if runesEqual(hay[i:i+len(needle)], needle) {
				return i
			}
		}
		return -1
	}
	for i := 0; i+len(needle) <= len(hay); i++ {
		if runesEqual(hay[i:i+len(needle)], needle) {
			return i
		}
	}
	return -1
}

func runesEqual(a, b []rune) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// utf16Runes counts UTF-16 code units of the first n runes.
func utf16Runes(r []rune, n int) int {
	c := 0
	for _, x := range r[:n] {
		if x >= 0x10000 {
			c += 2
		} else {
			c++
		}
	}
	return c
}

// indexFold is .NET's IndexOf/LastIndexOf with OrdinalIgnoreCase, in
// UTF-16 units, which is what ARM's indexOf, lastIndexOf, startsWith and
// endsWith use for strings.
func indexFold(s, sub string, last bool) int {
	if isASCII(s) && isASCII(sub) {
		ls, lsub := strings.ToLower(s), strings.ToLower(sub)
		if last {
			return strings.LastIndex(ls, lsub)
		}
		return strings.Index(ls, lsub)
	}
	hay, needle := foldRunes(s), foldRunes(sub)
	i := runeIndex(hay, needle, last)
	if i < 0 {
		return -1
	}
	return utf16Runes(hay, i)
}

func hasPrefixFold(s, prefix string) bool {
	a, b := foldRunes(s), foldRunes(prefix)
	return len(b) <= len(a) && runesEqual(a[:len(b)], b)
}

func hasSuffixFold(s, suffix string) bool {
	a, b := foldRunes(s), foldRunes(suffix)
	return len(b) <= len(a) && runesEqual(a[len(a)-len(b):], b)
}

func twoStrings(name string, args []any) (string, string, error) {
	a, err := argString(name, 0, args[0])
	if err != nil {
		return "", "", err
	}
	b, err := argString(name, 1, args[1])
	if err != nil {
		return "", "", err
	}
	return a, b, nil
}

func fnStartsWith(ev *evaluator, name string, args []any) (any, error) {
	s, p, err := twoStrings(name, args)
	if err != nil {
		return nil, err
	}
	return hasPrefixFold(s, p), nil
}

func fnEndsWith(ev *evaluator, name string, args []any) (any, error) {
	s, p, err := twoStrings(name, args)
	if err != nil {
		return nil, err
	}
	return hasSuffixFold(s, p), nil
}

func fnFormat(ev *evaluator, name string, args []any) (any, error) {
	f, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	for _, a := range args[1:] {
		if err := ev.charge(int64(approxSize(a))); err != nil {
			return nil, err
		}
	}
	s, err := composite(f, args[1:])
	if err != nil {
		return nil, err
	}
	return s, ev.chargeString(s)
}

// approxSize is a cheap size estimate used for budgeting.
func approxSize(v any) int {
	switch t := v.(type) {
	case string:
		return len(t)
	case []any:
		n := len(t)
		for _, e := range t {
			n += approxSize(e)
		}
		return n
	case *Object:
		n := t.Len()
		for i, k := range t.keys {
			n += len(k) + approxSize(t.vals[i])
		}
		return n
	}
	return 1
}

func hashArgs(name string, args []any) ([]string, error) {
	parts := make([]string, len(args))
	for i, a := range args {
		s, ok := a.(string)
		if !ok {
			return nil, errorf("The template language function '%s' expects its parameters to be of type 'String'. The %s parameter is of type '%s'. Please see %s for usage details.", name, ordinal(i), TypeName(a), FunctionsHelp)
		}
		parts[i] = s
	}
	return parts, nil
}

func fnGUID(ev *evaluator, name string, args []any) (any, error) {
	parts, err := hashArgs(name, args)
	if err != nil {
		return nil, err
	}
	return GUID(parts...), nil
}

func fnUniqueString(ev *evaluator, name string, args []any) (any, error) {
	parts, err := hashArgs(name, args)
	if err != nil {
		return nil, err
	}
	return UniqueString(parts...), nil
}

func fnJoin(ev *evaluator, name string, args []any) (any, error) {
	arr, err := argArray(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	delim, err := argString(name, 1, args[1])
	if err != nil {
		return nil, err
	}
	parts := make([]string, len(arr))
	for i, e := range arr {
		s, err := concatString(name, 0, e)
		if err != nil {
			return nil, errorf("The template language function 'join' expects its first parameter to be an array of strings; the element at index '%d' is of type '%s'.", i, TypeName(e))
		}
		parts[i] = s
	}
	out := strings.Join(parts, delim)
	return out, ev.chargeString(out)
}

func fnJSON(ev *evaluator, name string, args []any) (any, error) {
	s, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	return parseJSONArg(ev, name, s)
}

func fnNewGUID(ev *evaluator, name string, args []any) (any, error) {
	if ev.ctx.NewGUID == nil {
		return nil, fnError(name, "newGuid() is only available in a parameter's default value. Please see %s for usage details.", FunctionsHelp)
	}
	return ev.ctx.NewGUID(), nil
}

func fnPadLeft(ev *evaluator, name string, args []any) (any, error) {
	var s string
	switch t := args[0].(type) {
	case string:
		s = t
	case int64:
		s = strconv.FormatInt(t, 10)
	default:
		return nil, typeError(name, 0, "String", args[0])
	}
	total, err := argInt(name, 1, args[1])
	if err != nil {
		return nil, err
	}
	pad := " "
	if len(args) > 2 {
		if pad, err = argString(name, 2, args[2]); err != nil {
			return nil, err
		}
		if utf16Len(pad) != 1 {
			return nil, fnError(name, "the padding character must be a single character; the provided value is '%s'.", pad)
		}
	}
	if total > maxStringLength {
		return nil, fnError(name, "the total length '%d' exceeds the maximum of '%d'.", total, maxStringLength)
	}
	n := utf16Len(s)
	if int64(n) >= total {
		return s, nil
	}
	out := strings.Repeat(pad, int(total)-n) + s
	return out, ev.chargeString(out)
}

func fnReplace(ev *evaluator, name string, args []any) (any, error) {
	var strs [3]string
	for i := range strs {
		s, err := argString(name, i, args[i])
		if err != nil {
			return nil, err
		}
		strs[i] = s
	}
	if strs[1] == "" {
		return nil, fnError(name, "the string to replace can't be empty.")
	}
	if n := strings.Count(strs[0], strs[1]); n > 0 && len(strs[2]) > len(strs[1]) {
		if err := ev.charge(int64(n * (len(strs[2]) - len(strs[1])))); err != nil {
			return nil, err
		}
	}
	out := strings.ReplaceAll(strs[0], strs[1], strs[2])
	return out, ev.chargeString(out)
}

func fnSplit(ev *evaluator, name string, args []any) (any, error) {
	s, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	var delims []string
	switch t := args[1].(type) {
	case string:
		delims = []string{t}
	case []any:
		for _, d := range t {
			ds, ok := d.(string)
			if !ok {
				return nil, errorf("The template language function 'split' expects its second parameter to be a string or an array of strings; an element is of type '%s'.", TypeName(d))
			}
			delims = append(delims, ds)
		}
	default:
		return nil, typeError(name, 1, "String", args[1])
	}
	parts := splitAny(s, delims)
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, ev.charge(int64(len(out)))
}

// splitAny is .NET's String.Split(string[], None): at each position the
// first listed delimiter that matches wins; empty delimiters are ignored.
func splitAny(s string, delims []string) []string {
	var nonEmpty []string
	for _, d := range delims {
		if d != "" {
			nonEmpty = append(nonEmpty, d)
		}
	}
	if len(nonEmpty) == 0 {
		return []string{s}
	}
	if len(nonEmpty) == 1 {
		return strings.Split(s, nonEmpty[0])
	}
	var out []string
	start := 0
	for i := 0; i < len(s); {
		matched := ""
		for _, d := range nonEmpty {
			if strings.HasPrefix(s[i:], d) {
				matched = d
				break
			}
		}
		if matched == "" {
			i++
			continue
		}
		out = append(out, s[start:i])
		i += len(matched)
		start = i
	}
	return append(out, s[start:])
}

// stringOf is string(): strings unchanged, everything else as compact JSON.
func stringOf(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	b, err := appendJSON(nil, v, false, 0)
	return string(b), err
}

func fnString(ev *evaluator, name string, args []any) (any, error) {
	if err := ev.charge(int64(approxSize(args[0]))); err != nil {
		return nil, err
	}
	s, err := stringOf(args[0])
	if err != nil {
		return nil, fnError(name, "%s", err.Error())
	}
	return s, ev.chargeString(s)
}

func fnSubstring(ev *evaluator, name string, args []any) (any, error) {
	s, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	start, err := argInt(name, 1, args[1])
	if err != nil {
		return nil, err
	}
	n := int64(utf16Len(s))
	length := n - start
	if len(args) > 2 {
		if length, err = argInt(name, 2, args[2]); err != nil {
			return nil, err
		}
	}
	if start < 0 || start > n || length < 0 || start+length > n {
		if len(args) > 2 {
			return nil, fnError(name, "The index and length parameters must refer to a location within the string. The index parameter: '%d', the length parameter: '%d', the length of the string parameter: '%d'. Please see https://aka.ms/arm-functions#substring for usage details.", start, length, n)
		}
		return nil, fnError(name, "The index parameter must refer to a location within the string. The index parameter: '%d', the length of the string parameter: '%d'. Please see https://aka.ms/arm-functions#substring for usage details.", start, n)
	}
	return utf16Slice(s, int(start), int(start+length)), nil
}

func fnToLower(ev *evaluator, name string, args []any) (any, error) {
	s, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	return strings.ToLower(s), nil
}

func fnToUpper(ev *evaluator, name string, args []any) (any, error) {
	s, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	return strings.ToUpper(s), nil
}

func fnTrim(ev *evaluator, name string, args []any) (any, error) {
	s, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	return strings.TrimFunc(s, unicode.IsSpace), nil
}

// fnURI is uri(baseUri, relativeUri): the relative URI resolved against
// the base as .NET's Uri(Uri, string) does (RFC 3986 resolution).
func fnURI(ev *evaluator, name string, args []any) (any, error) {
	base, rel, err := twoStrings(name, args)
	if err != nil {
		return nil, err
	}
	b, err := url.Parse(base)
	if err != nil || !b.IsAbs() || b.Host == "" && b.Scheme != "file" {
		return nil, fnError(name, "the base URI '%s' is not a valid absolute URI.", base)
	}
	r, err := url.Parse(rel)
	if err != nil {
		return nil, fnError(name, "the relative URI '%s' is not valid.", rel)
	}
	out := b.ResolveReference(r).String()
	return out, ev.chargeString(out)
}

// fnURIComponent is .NET's Uri.EscapeDataString: everything but RFC 3986
// unreserved characters is percent-encoded as UTF-8, upper-case hex.
func fnURIComponent(ev *evaluator, name string, args []any) (any, error) {
	s, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	out := b.String()
	return out, ev.chargeString(out)
}

func fnURIComponentToString(ev *evaluator, name string, args []any) (any, error) {
	s, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	return unescapeData(s), nil
}

// unescapeData is .NET's Uri.UnescapeDataString: valid %XX sequences are
// decoded, anything else is left as it is.
func unescapeData(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s)+0 && i+2 <= len(s)-1 {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b = append(b, byte(v))
				i += 2
				continue
			}
		}
		b = append(b, s[i])
	}
	return utf8String(b)
}
