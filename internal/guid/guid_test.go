package guid

import "testing"

func TestParseAndString(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		back string // formatGUID of what parsed
	}{
		{"acdd72a7-3385-48ef-bd42-f606fba81ae7", true, "acdd72a7-3385-48ef-bd42-f606fba81ae7"},
		{"ACDD72A7-3385-48EF-BD42-F606FBA81AE7", true, "acdd72a7-3385-48ef-bd42-f606fba81ae7"},
		{"00000000-0000-0000-0000-000000000000", true, "00000000-0000-0000-0000-000000000000"},
		{"acdd72a7338548efbd42f606fba81ae7", false, ""},
		{"acdd72a7-3385-48ef-bd42-f606fba81ae", false, ""},
		{"gcdd72a7-3385-48ef-bd42-f606fba81ae7", false, ""},
		{"acdd72a7-3385-48ef-bd42_f606fba81ae7", false, ""},
		{"a-1-2", false, ""},
	}
	for _, tc := range tests {
		g, ok := Parse(tc.in)
		if ok != tc.ok || ok && g.String() != tc.back {
			t.Errorf("parseGUID(%q) = %v, %v", tc.in, g.String(), ok)
		}
	}
}
