package server

import "testing"

func TestParseMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		in    string
		auto  bool
		limit int64
		bad   bool
	}{
		{"", true, 0, false},
		{"auto", true, 0, false},
		{"AUTO", true, 0, false},
		{"off", false, 0, false},
		{"3GiB", false, 3 << 30, false},
		{"1.5GiB", false, 3 << 29, false},
		{"512MiB", false, 512 << 20, false},
		{"1000000", false, 1000000, false},
		{"0", false, 0, true},
		{"-1GiB", false, 0, true},
		{"3GB", false, 0, true},
		{"lots", false, 0, true},
	} {
		auto, limit, err := parseMemoryLimit(tc.in)
		if (err != nil) != tc.bad || auto != tc.auto || limit != tc.limit {
			t.Errorf("parseMemoryLimit(%q) = %v, %d, %v", tc.in, auto, limit, err)
		}
	}
}

func TestAutoMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		live uint64
		want int64
	}{
		{0, 512 << 20},
		{100 << 20, 612 << 20},
		{1 << 30, 1<<30 + 512<<20},
		{2 << 30, 3 << 30}, // half again once that is more than 512 MiB
	} {
		if got := autoMemoryLimit(tc.live); got != tc.want {
			t.Errorf("autoMemoryLimit(%d MiB) = %d MiB, want %d MiB", tc.live>>20, got>>20, tc.want>>20)
		}
	}
}
