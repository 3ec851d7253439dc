package arm

import "testing"

func TestQuoteBareKeys(t *testing.T) {
	cases := []struct {
		name, in, want string
		ok             bool
	}{
		{"az's spliced template", `{"properties": {"parameters": {}, "mode": "Incremental", template:{"a": "x, y: z", "b": [1]}}}`,
			`{"properties": {"parameters": {}, "mode": "Incremental", "template":{"a": "x, y: z", "b": [1]}}}`, true},
		{"a bare key first in an object", `{ name : "v"}`, `{ "name" : "v"}`, true},
		{"an escaped quote inside a string", `{"a": "he said \"{b: 1}\"", c: 2}`, `{"a": "he said \"{b: 1}\"", "c": 2}`, true},
		{"bare values are not keys", `{"a": true, b: null}`, `{"a": true, "b": null}`, true},
		{"still invalid after quoting", `{a: tru}`, "", false},
		{"nothing to quote", `{"a": }`, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := quoteBareKeys([]byte(tc.in))
			if ok != tc.ok || string(got) != tc.want {
				t.Fatalf("quoteBareKeys(%s) = %s, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func FuzzQuoteBareKeys(f *testing.F) {
	f.Add([]byte(`{"properties": {"mode": "Incremental", template:{"a": 1}}}`))
	f.Add([]byte(`{a: "b\"c", d: [ {e: 1} ]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		out, ok := quoteBareKeys(body)
		if ok && len(out) < len(body) {
			t.Fatalf("quoting shortened the body: %q -> %q", body, out)
		}
	})
}
