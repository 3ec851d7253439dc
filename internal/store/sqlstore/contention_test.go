package sqlstore

import "testing"

func TestContentionFollowsRetries(t *testing.T) {
	var c contention
	if c.pessimism() != 0 {
		t.Fatalf("a new store starts pessimistic: %v", c.pessimism())
	}
	for range 100 {
		c.observe(3) // every update retried (counted once)
	}
	if r := c.rate(); r < 0.99 || r > 1 {
		t.Errorf("rate after constant retries = %v, want about 1", r)
	}
	if p := c.pessimism(); p != 0.9 {
		t.Errorf("pessimism = %v, want the 0.9 cap", p)
	}
	for range 100 {
		c.observe(0)
	}
	if r := c.rate(); r > 0.01 {
		t.Errorf("rate after the conflicts ended = %v, want about 0", r)
	}
}
