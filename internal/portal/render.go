package portal

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFiles embed.FS

// page is what every template receives.
type page struct {
	Title     string
	Nav       string
	Crumbs    []crumb
	Flash     *flash
	Signed    bool
	Principal principal
	CSRF      string
	// Here is the request's path and query, where forms return to.
	Here string
	// Refresh, when not zero, reloads the page after this many seconds
	// (a meta refresh, so it works without the script): pages showing a
	// long operation that has not finished.
	Refresh int
	Data    any
}

type crumb struct{ Label, URL string }

type pageSet struct{ byName map[string]*template.Template }

var funcs = template.FuncMap{
	"portalURL": portalURL,
	"last":      lastSegment,
	"lower":     strings.ToLower,
	"short": func(s string) string {
		if len(s) > 60 {
			return "…" + s[len(s)-59:]
		}
		return s
	},
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"join": strings.Join,
	"kindLabel": func(k string) string {
		switch k {
		case "SystemAssigned":
			return "System-assigned identity"
		case "UserAssigned":
			return "User-assigned identity"
		case "ServicePrincipal":
			return "Service principal"
		}
		return k
	},
	"typeOf": func(id string) string {
		if ref, ok := parseScope(id); ok && ref.ResourceType != "" {
			return ref.ResourceType
		}
		if ref, ok := parseScope(id); ok {
			return ref.Level()
		}
		return ""
	},
	"add":           func(a, b int) int { return a + b },
	"assignmentsOf": func(rows any, pg page) map[string]any { return map[string]any{"Rows": rows, "Page": pg} },
	"mul":           func(a, b int) int { return a * b },
	"stateClass":    stateClass,
}

func loadPages() (*pageSet, error) {
	names, err := templateFiles.ReadDir("templates")
	if err != nil {
		return nil, err
	}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	set := &pageSet{byName: map[string]*template.Template{}}
	for _, n := range names {
		name := strings.TrimSuffix(n.Name(), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFiles, "templates/"+n.Name())
		if err != nil {
			return nil, fmt.Errorf("portal template %s: %w", name, err)
		}
		set.byName[name] = t
	}
	return set, nil
}

// render writes a page; templates execute into a buffer first so that an
// error never leaves half a page.
func (p *Portal) render(w http.ResponseWriter, r *http.Request, status int, name string, pg page) {
	t, ok := p.pages.byName[name]
	if !ok {
		http.Error(w, "no template "+name, http.StatusInternalServerError)
		return
	}
	pg.Here = r.URL.RequestURI()
	if pg.Flash == nil {
		pg.Flash = p.takeFlash(w, r)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", pg); err != nil {
		p.cfg.Logger.Error("portal: rendering failed", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderStatus is a page with only a message (sign-in problems, refusals).
func (p *Portal) renderStatus(w http.ResponseWriter, r *http.Request, status int, title, message string) {
	pg := page{Title: title, Data: map[string]any{"Message": message, "Status": status}}
	if s := p.signedIn(r); s != nil {
		pg.Signed, pg.Principal, pg.CSRF = true, s.Principal, s.CSRF
	}
	p.render(w, r, status, "status", pg)
}

// show renders a signed-in page.
func (q *request) show(name string, pg page) error {
	pg.Signed, pg.Principal, pg.CSRF = true, q.session.Principal, q.session.CSRF
	q.arm.p.render(q.w, q.r, http.StatusOK, name, pg)
	return nil
}

// renderError shows a refusal from the front door as a page (a read the
// principal may not make), and anything else as a server error.
func (p *Portal) renderError(q *request, err error) {
	var ae *armError
	if errors.As(err, &ae) {
		status := ae.Status
		if status < 400 {
			status = http.StatusBadGateway
		}
		pg := page{Title: "Refused", Data: map[string]any{"Message": ae.Message, "Code": ae.Code, "Status": status}}
		pg.Signed, pg.Principal, pg.CSRF = true, q.session.Principal, q.session.CSRF
		if ae.Status == http.StatusNotFound {
			pg.Title = "Not found"
		}
		p.render(q.w, q.r, status, "status", pg)
		return
	}
	p.cfg.Logger.Error("portal: page failed", "path", q.r.URL.Path, "err", err)
	pg := page{Title: "Something went wrong", Data: map[string]any{"Message": "The page could not be built; the server log says why.", "Status": 500}}
	pg.Signed, pg.Principal, pg.CSRF = true, q.session.Principal, q.session.CSRF
	p.render(q.w, q.r, http.StatusInternalServerError, "status", pg)
}

func sortBy[T any](xs []T, key func(T) string) {
	sort.SliceStable(xs, func(i, j int) bool { return strings.ToLower(key(xs[i])) < strings.ToLower(key(xs[j])) })
}
