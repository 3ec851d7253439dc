package main

import (
	"testing"

	"github.com/keyless-io/keyless/internal/authz/authztest"
)

// TestSameDecisions proves the comparison compares like with like: on a
// small dataset both Casbin variants answer every question as keyless does.
func TestSameDecisions(t *testing.T) {
	cfg := authztest.Scaled(500) // 2,000 assignments: domain-match loads quadratically
	cfg.Queries = 400
	ds := authztest.Generate(cfg)
	keyless := loadKeyless(ds)
	for _, v := range []Variant{Expand, DomainMatch} {
		t.Run(string(v), func(t *testing.T) {
			c, err := NewCasbin(ds, v)
			if err != nil {
				t.Fatal(err)
			}
			allowed := 0
			for _, q := range ds.Queries {
				got, err := c.Allowed(q.PrincipalID, q.Action, q.Scope)
				if err != nil {
					t.Fatal(err)
				}
				if want := keyless.Allowed(q.PrincipalID, q.Action, q.Scope); got != want {
					t.Fatalf("%+v: casbin %v, keyless %v", q, got, want)
				}
				if got {
					allowed++
				}
			}
			if allowed == 0 || allowed == len(ds.Queries) {
				t.Fatalf("%d of %d allowed: the comparison would be vacuous", allowed, len(ds.Queries))
			}
		})
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, action string
		want            bool
	}{
		{"*", "a/b", true},
		{"*/read", "microsoft.web/sites/read", true},
		{"microsoft.managedidentity/userassignedidentities/*/assign/action", "microsoft.managedidentity/userassignedidentities/assign/action", true},
		{"a/*/b", "a/xb", false},
		{"a/*/b", "a/x/y/b", true},
	}
	for _, tc := range tests {
		if got := globMatch(tc.pattern, tc.action); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v", tc.pattern, tc.action, got)
		}
	}
}

var benchData = authztest.Scaled(100) // 10,000 assignments

func BenchmarkKeyless(b *testing.B) {
	ds := authztest.Generate(benchData)
	e := loadKeyless(ds)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		q := ds.Queries[i%len(ds.Queries)]
		e.Allowed(q.PrincipalID, q.Action, q.Scope)
	}
}

func BenchmarkCasbinExpand(b *testing.B) {
	ds := authztest.Generate(benchData)
	c, err := NewCasbin(ds, Expand)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		q := ds.Queries[i%len(ds.Queries)]
		if _, err := c.Allowed(q.PrincipalID, q.Action, q.Scope); err != nil {
			b.Fatal(err)
		}
	}
}
