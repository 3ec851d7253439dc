package wiretext

import "testing"

func TestCheckJSON(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		ok   bool
		path string
	}{
		{"plain", `{"location":"westus","tags":{"k":"v"}}`, true, ""},
		{"escaped backslash-u is not a NUL", `{"k":"\\u0000"}`, true, ""},
		{"tag value", `{"location":"westus","tags":{"k":"a\u0000b"}}`, false, "tags.k"},
		{"top-level value", `{"location":"west\u0000us"}`, false, "location"},
		{"member name", `{"tags":{"a\u0000":"v"}}`, false, `tags."a\x00"`},
		{"array element", `{"properties":{"list":["x","y","\u0000"]}}`, false, "properties.list[2]"},
		{"after nested values", `{"a":{"b":[1,{"c":true}]},"d":[null,"\u0000"]}`, false, "d[1]"},
		{"bare string document", `"\u0000"`, false, ""},
		{"not JSON is left to the decoder", `{"a":`, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path, ok := CheckJSON([]byte(tc.doc))
			if ok != tc.ok || path != tc.path {
				t.Fatalf("CheckJSON(%s) = %q, %v; want %q, %v", tc.doc, path, ok, tc.path, tc.ok)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	for _, s := range []string{"a\x00b", "\xff", "ok\xc3"} {
		if Check(s) == nil {
			t.Errorf("Check(%q) accepted", s)
		}
	}
	if Check("héllo wörld") != nil {
		t.Error("valid UTF-8 refused")
	}
}

func FuzzCheckJSON(f *testing.F) {
	f.Add([]byte(`{"tags":{"k":"a\u0000b"}}`))
	f.Add([]byte(`[1,"x",{"y":null}]`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		_, _ = CheckJSON(doc) // must not panic on any input
	})
}
