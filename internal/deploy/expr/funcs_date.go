package expr

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Date functions. Formats are .NET date and time format strings in the
// en-US culture, which is what the Azure docs examples show: utcNow('d') is
// "3/5/2019", dateTimeAdd's default output "4/7/2023 2:53:14 PM".

func init() {
	u := fn("date", "utcNow", 0, 1, fnUTCNow)
	u.ParameterDefaultOnly = true
	fn("date", "dateTimeAdd", 2, 3, fnDateTimeAdd)
	fn("date", "dateTimeFromEpoch", 1, 1, fnDateTimeFromEpoch)
	fn("date", "dateTimeToEpoch", 1, 1, fnDateTimeToEpoch)
}

func fnUTCNow(ev *evaluator, name string, args []any) (any, error) {
	if ev.ctx.Now == nil {
		return nil, fnError(name, "utcNow() is only available in a parameter's default value. Please see https://aka.ms/arm-functions#utcnow for usage details.")
	}
	layout := "yyyyMMddTHHmmssZ"
	if len(args) > 0 {
		s, err := argString(name, 0, args[0])
		if err != nil {
			return nil, err
		}
		layout = s
	}
	return formatDateTime(ev.ctx.Now().UTC(), layout)
}

func fnDateTimeAdd(ev *evaluator, name string, args []any) (any, error) {
	base, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	dur, err := argString(name, 1, args[1])
	if err != nil {
		return nil, err
	}
	layout := "G"
	if len(args) > 2 {
		if layout, err = argString(name, 2, args[2]); err != nil {
			return nil, err
		}
	}
	t, ok := parseDateTime(base)
	if !ok {
		return nil, fnError(name, "the base time '%s' is not a valid date and time. Please see https://aka.ms/arm-functions#datetimeadd for usage details.", base)
	}
	t, ok = addISODuration(t, dur)
	if !ok {
		return nil, fnError(name, "the duration '%s' is not a valid ISO 8601 duration. Please see https://aka.ms/arm-functions#datetimeadd for usage details.", dur)
	}
	return formatDateTime(t, layout)
}

func fnDateTimeFromEpoch(ev *evaluator, name string, args []any) (any, error) {
	sec, err := argInt(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	if sec < -62135596800 || sec > 253402300799 {
		return nil, fnError(name, "the epoch time '%d' is outside the range of dates.", sec)
	}
	return time.Unix(sec, 0).UTC().Format("2006-01-02T15:04:05Z"), nil
}

func fnDateTimeToEpoch(ev *evaluator, name string, args []any) (any, error) {
	s, err := argString(name, 0, args[0])
	if err != nil {
		return nil, err
	}
	t, ok := parseDateTime(s)
	if !ok {
		return nil, fnError(name, "the value '%s' is not a valid date and time. Please see https://aka.ms/arm-functions#datetimetoepoch for usage details.", s)
	}
	return t.Unix(), nil
}

var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05Z",
	"2006-01-02T15:04:05Z",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
	"20060102T150405Z",
	"1/2/2006 3:04:05 PM",
	"1/2/2006 15:04:05",
	"1/2/2006",
	time.RFC1123,
	time.RFC1123Z,
}

// parseDateTime accepts ISO 8601 forms and the en-US forms this package
// itself prints; times without an offset are UTC.
func parseDateTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// addISODuration adds an ISO 8601 duration ("P1Y2M3DT4H5M6.5S", "-P9D",
// "P2W"). Months and years clamp to the end of the month as .NET's
// AddMonths does.
func addISODuration(t time.Time, d string) (time.Time, bool) {
	neg := false
	if strings.HasPrefix(d, "-") {
		neg, d = true, d[1:]
	}
	if !strings.HasPrefix(d, "P") || len(d) < 2 {
		return t, false
	}
	d = d[1:]
	var years, months, days int64
	var secs float64
	inTime, any := false, false
	for len(d) > 0 {
		if d[0] == 'T' {
			if inTime {
				return t, false
			}
			inTime = true
			d = d[1:]
			continue
		}
		i := 0
		for i < len(d) && (d[i] >= '0' && d[i] <= '9' || d[i] == '.' || d[i] == ',') {
			i++
		}
		if i == 0 || i >= len(d) {
			return t, false
		}
		num, err := strconv.ParseFloat(strings.Replace(d[:i], ",", ".", 1), 64)
		if err != nil || num > 1e7 {
			return t, false
		}
		unit := d[i]
		d = d[i+1:]
		any = true
		whole := num == math.Trunc(num)
		switch {
		case !inTime && unit == 'Y' && whole:
			years += int64(num)
		case !inTime && unit == 'M' && whole:
			months += int64(num)
		case !inTime && unit == 'W':
			secs += num * 7 * 86400
		case !inTime && unit == 'D':
			if whole {
				days += int64(num)
			} else {
				secs += num * 86400
			}
		case inTime && unit == 'H':
			secs += num * 3600
		case inTime && unit == 'M':
			secs += num * 60
		case inTime && unit == 'S':
			secs += num
		default:
			return t, false
		}
	}
	if !any {
		return t, false
	}
	sign := int64(1)
	if neg {
		sign = -1
	}
	t = addMonths(t, sign*(years*12+months))
	t = t.AddDate(0, 0, int(sign*days))
	t = t.Add(time.Duration(float64(sign) * secs * float64(time.Second)))
	if t.Year() < 1 || t.Year() > 9999 {
		return t, false
	}
	return t, true
}

func addMonths(t time.Time, n int64) time.Time {
	if n == 0 {
		return t
	}
	y, m, d := t.Date()
	total := int64(y)*12 + int64(m-1) + n
	ny, nm := int(total/12), time.Month(total%12+1)
	last := time.Date(ny, nm+1, 0, 0, 0, 0, 0, time.UTC).Day()
	if d > last {
		d = last
	}
	return time.Date(ny, nm, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// standardDateFormats are .NET's single-letter formats in en-US.
var standardDateFormats = map[string]string{
	"d": "M/d/yyyy",
	"D": "dddd, MMMM d, yyyy",
	"f": "dddd, MMMM d, yyyy h:mm tt",
	"F": "dddd, MMMM d, yyyy h:mm:ss tt",
	"g": "M/d/yyyy h:mm tt",
	"G": "M/d/yyyy h:mm:ss tt",
	"m": "MMMM d", "M": "MMMM d",
	"o": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK", "O": "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
	"r": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'", "R": "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
	"s": "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
	"t": "h:mm tt",
	"T": "h:mm:ss tt",
	"u": "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
	"U": "dddd, MMMM d, yyyy h:mm:ss tt",
	"y": "MMMM yyyy", "Y": "MMMM yyyy",
}

// formatDateTime is .NET's DateTime.ToString(format) for a UTC time.
func formatDateTime(t time.Time, layout string) (string, error) {
	if std, ok := standardDateFormats[layout]; ok {
		layout = std
	} else if len(layout) == 1 {
		return "", fnError("utcNow", "the format '%s' is not a valid date and time format.", layout)
	}
	var b strings.Builder
	for i := 0; i < len(layout); {
		c := layout[i]
		n := 1
		for i+n < len(layout) && layout[i+n] == c {
			n++
		}
		switch c {
		case 'y':
			y := t.Year()
			switch {
			case n == 1:
				b.WriteString(strconv.Itoa(y % 100))
			case n == 2:
				b.WriteString(pad(y%100, 2))
			default:
				b.WriteString(pad(y, n))
			}
		case 'M':
			switch n {
			case 1:
				b.WriteString(strconv.Itoa(int(t.Month())))
			case 2:
				b.WriteString(pad(int(t.Month()), 2))
			case 3:
				b.WriteString(t.Month().String()[:3])
			default:
				b.WriteString(t.Month().String())
			}
		case 'd':
			switch n {
			case 1:
				b.WriteString(strconv.Itoa(t.Day()))
			case 2:
				b.WriteString(pad(t.Day(), 2))
			case 3:
				b.WriteString(t.Weekday().String()[:3])
			default:
				b.WriteString(t.Weekday().String())
			}
		case 'H':
			b.WriteString(pad(t.Hour(), min(n, 2)))
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			b.WriteString(pad(h, min(n, 2)))
		case 'm':
			b.WriteString(pad(t.Minute(), min(n, 2)))
		case 's':
			b.WriteString(pad(t.Second(), min(n, 2)))
		case 'f', 'F':
			if n > 7 {
				return "", fnError("utcNow", "the format '%s' is not a valid date and time format.", layout)
			}
			frac := pad(t.Nanosecond()/100, 7)[:n]
			if c == 'F' {
				frac = strings.TrimRight(frac, "0")
			}
			b.WriteString(frac)
		case 't':
			ampm := "AM"
			if t.Hour() >= 12 {
				ampm = "PM"
			}
			if n == 1 {
				ampm = ampm[:1]
			}
			b.WriteString(ampm)
		case 'K':
			b.WriteString("Z")
		case 'z':
			switch n {
			case 1:
				b.WriteString("+0")
			case 2:
				b.WriteString("+00")
			default:
				b.WriteString("+00:00")
			}
		case 'g':
			b.WriteString("A.D.")
		case ':', '/':
			b.WriteString(strings.Repeat(string(c), n))
		case '\'', '"':
			end := strings.IndexByte(layout[i+1:], c)
			if end < 0 {
				return "", fnError("utcNow", "the format '%s' has an unterminated quoted string.", layout)
			}
			b.WriteString(layout[i+1 : i+1+end])
			n = end + 2
		case '\\':
			if i+1 < len(layout) {
				b.WriteByte(layout[i+1])
			}
			n = 2
		case '%':
			n = 1
		default:
			b.WriteString(strings.Repeat(string(c), n))
		}
		i += n
	}
	return b.String(), nil
}

func pad(v, width int) string {
	s := strconv.Itoa(v)
	for len(s) < width {
		s = "0" + s
	}
	return s
}
