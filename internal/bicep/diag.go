package bicep

import (
	"fmt"
	"sort"
	"strings"
)

// Severities of a Diagnostic.
const (
	SeverityError   = "Error"
	SeverityWarning = "Warning"
	SeverityInfo    = "Info"
)

// Diagnostic is one problem found in a source file. Code is the official
// compiler's BCP code where the check is the same one, or a linter rule
// name (no-unused-params, ...).
type Diagnostic struct {
	File     string
	Line     int
	Column   int
	Severity string
	Code     string
	Message  string
}

// String formats the diagnostic the way `bicep build` prints it:
// file(line,col) : Error BCP057: message.
func (d Diagnostic) String() string {
	return fmt.Sprintf("%s(%d,%d) : %s %s: %s", d.File, d.Line, d.Column, d.Severity, d.Code, d.Message)
}

type diagList struct {
	items []Diagnostic
	// suppressed holds, per file, the lines a #disable-next-line directive
	// covers and the codes it names.
	suppressed map[string]map[int][]string
}

func (l *diagList) add(file string, p Pos, severity, code, format string, args ...any) {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	l.items = append(l.items, Diagnostic{File: file, Line: p.Line, Column: p.Column, Severity: severity, Code: code, Message: msg})
}

func (l *diagList) suppress(file string, line int, codes []string) {
	if l.suppressed == nil {
		l.suppressed = map[string]map[int][]string{}
	}
	if l.suppressed[file] == nil {
		l.suppressed[file] = map[int][]string{}
	}
	l.suppressed[file][line] = append(l.suppressed[file][line], codes...)
}

func (l *diagList) hasErrors() bool {
	for _, d := range l.result() {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}

// result returns the diagnostics not suppressed by a directive, sorted by
// file, position and code, without duplicates.
func (l *diagList) result() []Diagnostic {
	out := make([]Diagnostic, 0, len(l.items))
	seen := map[Diagnostic]bool{}
	for _, d := range l.items {
		if seen[d] {
			continue
		}
		seen[d] = true
		if codes := l.suppressed[d.File][d.Line]; len(codes) > 0 {
			drop := false
			for _, c := range codes {
				if strings.EqualFold(c, d.Code) {
					drop = true
				}
			}
			if drop {
				continue
			}
		}
		out = append(out, d)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return out
}
