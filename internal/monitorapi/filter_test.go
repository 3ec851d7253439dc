package monitorapi

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/wiretext"
)

func TestParseFilter(t *testing.T) {
	from := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2025, 5, 2, 0, 0, 0, 0, time.UTC)
	const rangeOnly = "eventTimestamp ge '2025-05-01T00:00:00Z' and eventTimestamp le '2025-05-02T00:00:00Z'"
	tests := []struct {
		name   string
		filter string
		want   Filter
	}{
		{"a time range", rangeOnly, Filter{From: from, To: to}},
		{"only the start", "eventTimestamp ge '2025-05-01T00:00:00Z'", Filter{From: from}},
		{"a resource group", rangeOnly + " and resourceGroupName eq 'MSSupportGroup'", Filter{From: from, To: to, ResourceGroup: "MSSupportGroup"}},
		{"a resource", rangeOnly + " and resourceUri eq '/subscriptions/s/resourceGroups/g/providers/P/t/n'", Filter{From: from, To: to, ResourceURI: "/subscriptions/s/resourceGroups/g/providers/P/t/n"}},
		{"az's resourceId for --resource-id", rangeOnly + " and resourceId eq '/subscriptions/s'", Filter{From: from, To: to, ResourceURI: "/subscriptions/s"}},
		{"a provider", rangeOnly + " and resourceProvider eq 'Microsoft.ManagedIdentity'", Filter{From: from, To: to, ResourceProvider: "Microsoft.ManagedIdentity"}},
		{"a correlation ID", rangeOnly + " and correlationId eq 'b5eac9d2-e829-4c9a-9efb-586d19417c5f'", Filter{From: from, To: to, CorrelationID: "b5eac9d2-e829-4c9a-9efb-586d19417c5f"}},
		{"a caller and a status, as az adds them", rangeOnly + " and caller eq 'oid-1' and status eq 'Failed'", Filter{From: from, To: to, Caller: "oid-1", Status: "Failed"}},
		{"everything at once", rangeOnly + " and resourceGroupName eq 'g' and resourceProvider eq 'p' and correlationId eq 'c' and caller eq 'x'", Filter{From: from, To: to, ResourceGroup: "g", ResourceProvider: "p", CorrelationID: "c", Caller: "x"}},
		{"the range last, in any order", "resourceGroupName eq 'g' and eventTimestamp le '2025-05-02T00:00:00Z' and eventTimestamp ge '2025-05-01T00:00:00Z'", Filter{From: from, To: to, ResourceGroup: "g"}},
		{"keywords and names in any case", "EventTimestamp GE '2025-05-01T00:00:00Z' AND RESOURCEGROUPNAME Eq 'g'", Filter{From: from, ResourceGroup: "g"}},
		{"a doubled quote is a quote", rangeOnly + " and caller eq 'o''brien'", Filter{From: from, To: to, Caller: "o'brien"}},
		{"spaces inside a quoted value", rangeOnly + " and caller eq 'a b'", Filter{From: from, To: to, Caller: "a b"}},
		{"extra spaces and tabs", "  eventTimestamp   ge\t'2025-05-01T00:00:00Z'   ", Filter{From: from}},
		{"az's bare isoformat() times", "eventTimestamp ge 2025-05-01T00:00:00.000000 and eventTimestamp le 2025-05-02T00:00:00", Filter{From: from, To: to}},
		{".NET's seven-digit fractions", "eventTimestamp ge '2014-07-16T04:36:37.6407898Z'", Filter{From: time.Date(2014, 7, 16, 4, 36, 37, 640789800, time.UTC)}},
		{"an offset with a colon", "eventTimestamp ge '2025-05-01T02:00:00+02:00'", Filter{From: from}},
		{"an offset without one, as az's help writes it", "eventTimestamp ge '2025-04-30T19:00:00-0500'", Filter{From: from}},
		{"a bare date", "eventTimestamp ge '2025-05-01'", Filter{From: from}},
		{"minutes without seconds", "eventTimestamp ge '2025-05-01T00:00Z'", Filter{From: from}},
		{"eventChannels, which older samples send, narrows nothing", "eventTimestamp ge '2025-05-01' and eventChannels eq 'Admin, Operation'", Filter{From: from}},
		{"a zero-length range", "eventTimestamp ge '2025-05-01' and eventTimestamp le '2025-05-01'", Filter{From: from, To: from}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseFilter(tc.filter)
			if err != nil {
				t.Fatalf("ParseFilter(%q): %v", tc.filter, err)
			}
			if !got.From.Equal(tc.want.From) || !got.To.Equal(tc.want.To) {
				t.Fatalf("range %v..%v, want %v..%v", got.From, got.To, tc.want.From, tc.want.To)
			}
			got.From, got.To, tc.want.From, tc.want.To = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseFilterRefusals(t *testing.T) {
	const start = "eventTimestamp ge '2025-05-01T00:00:00Z'"
	tests := []struct {
		name, filter, wantIn string
	}{
		{"no filter", "", "is required"},
		{"only spaces", "   ", "is required"},
		{"no start of the range", "resourceGroupName eq 'g'", "must give the start of the time range"},
		{"only the end of the range", "eventTimestamp le '2025-05-01T00:00:00Z'", "must give the start of the time range"},
		{"an empty range", "eventTimestamp ge '2025-05-02' and eventTimestamp le '2025-05-01'", "time range is empty"},
		{"a time that is not one", "eventTimestamp ge 'yesterday'", "is not a time"},
		{"a year out of range after the offset", "eventTimestamp ge '9999-12-31T23:00:00-05:00'", "is not a time"},
		{"an unsupported operator on the time", "eventTimestamp gt '2025-05-01'", "takes 'ge' or 'le'"},
		{"an unsupported operator on a property", start + " and resourceGroupName ne 'g'", "takes 'eq'"},
		{"an unknown property", start + " and location eq 'westus'", "'location' (at position 46) is not supported"},
		{"or", start + " or caller eq 'x'", "with 'and' only"},
		{"parentheses", "(" + start + ")", "'(eventTimestamp' (at position 1) is not supported"},
		{"a property given twice", start + " and caller eq 'a' and caller eq 'b'", "gives caller more than once"},
		{"resourceUri and resourceId are one property", start + " and resourceUri eq '/a' and resourceId eq '/b'", "more than once"},
		{"the start given twice", start + " and " + start, "gives eventTimestamp ge more than once"},
		{"a bare value on a property", start + " and caller eq x", "must be in single quotes"},
		{"an unclosed quote", start + " and caller eq 'x", "no closing quote"},
		{"text after a closing quote", start + " and caller eq 'x'y", "where a space was expected"},
		{"an empty value", start + " and caller eq ''", "is empty"},
		{"a dangling and", start + " and", "ends where a property name was expected"},
		{"a missing value", start + " and caller eq", "ends where a value was expected"},
		{"a missing operator", "eventTimestamp", "takes 'ge' or 'le'"},
		{"a NUL", start + " and caller eq 'a\x00'", "NUL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseFilter(tc.filter)
			var fe *FilterError
			if !errors.As(err, &fe) {
				t.Fatalf("ParseFilter(%q) = %v, want a FilterError", tc.filter, err)
			}
			if !strings.Contains(fe.Message, tc.wantIn) {
				t.Fatalf("message %q does not say %q", fe.Message, tc.wantIn)
			}
			if !strings.HasPrefix(fe.Message, "The $filter") || !strings.HasSuffix(fe.Message, ".") {
				t.Fatalf("message %q is not a sentence about the $filter", fe.Message)
			}
		})
	}
}

func TestFilterStringParsesBack(t *testing.T) {
	f := Filter{From: time.Date(2025, 5, 1, 1, 2, 3, 456000000, time.UTC), To: time.Date(2025, 5, 2, 0, 0, 0, 0, time.UTC),
		ResourceGroup: "g", ResourceURI: "/subscriptions/s", ResourceProvider: "p", CorrelationID: "c", Caller: "o'brien", Status: "Failed"}
	got, err := ParseFilter(f.String())
	if err != nil || !sameFilter(got, f) {
		t.Fatalf("ParseFilter(%q) = %+v, %v; want %+v", f.String(), got, err, f)
	}
}

func sameFilter(a, b Filter) bool {
	if !a.From.Equal(b.From) || !a.To.Equal(b.To) {
		return false
	}
	a.From, a.To, b.From, b.To = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b
}

func TestParseSelect(t *testing.T) {
	full := eventData{Caller: ptr("c"), Level: ptr("Error"), EventTimestamp: ptr("t"), OperationName: same("op")}
	tests := []struct {
		name, sel string
		check     func(e eventData) bool
		wantErr   string
	}{
		{"none keeps everything", "", func(e eventData) bool { return e.Caller != nil && e.Level != nil }, ""},
		{"az's ' , ' separators, any case", "eventTimestamp , OperationName", func(e eventData) bool {
			return e.EventTimestamp != nil && e.OperationName != nil && e.Caller == nil && e.Level == nil
		}, ""},
		{"empty names are skipped", "caller,,", func(e eventData) bool { return e.Caller != nil && e.Level == nil }, ""},
		{"an unknown member is refused, named", "caller,location", nil, "'location'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sel, err := parseSelect(tc.sel)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseSelect(%q) = %v, want an error naming %s", tc.sel, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := sel.apply(full); !tc.check(got) {
				t.Fatalf("parseSelect(%q) kept %+v", tc.sel, got)
			}
		})
	}
}

func TestStatusName(t *testing.T) {
	for code, want := range map[int]string{200: "OK", 201: "Created", 202: "Accepted", 204: "NoContent", 400: "BadRequest", 403: "Forbidden", 404: "NotFound", 409: "Conflict", 413: "RequestEntityTooLarge", 500: "InternalServerError", 599: "599"} {
		if got := statusName(code); got != want {
			t.Errorf("statusName(%d) = %q, want %q", code, got, want)
		}
	}
}

// FuzzActivityFilter: for any input, ParseFilter returns a FilterError
// with a sentence, or a filter with a start, an ordered range, values
// every store can keep, and a rendering that parses back to itself.
func FuzzActivityFilter(f *testing.F) {
	for _, seed := range []string{
		"eventTimestamp ge '2025-05-01T00:00:00Z' and eventTimestamp le '2025-05-02T00:00:00Z' and resourceGroupName eq 'g'",
		"eventTimestamp ge 2025-05-01T00:00:00.000000 and eventTimestamp le 2025-05-02T00:00:00.000000 and correlationId eq 'c'",
		"eventTimestamp ge '2014-07-16T04:36:37.6407898Z' and resourceUri eq '/subscriptions/s/resourceGroups/g'",
		"eventTimestamp ge '2025-04-30T19:00:00-0500' and caller eq 'o''brien' and status eq 'Failed'",
		"eventTimestamp ge '2025-05-01' and eventChannels eq 'Admin, Operation' and resourceProvider eq 'Microsoft.Web'",
		"resourceGroupName eq 'g'", "", "eventTimestamp ge 'x", "(eventTimestamp ge '2025-05-01')",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseFilter(s)
		if err != nil {
			var fe *FilterError
			if !errors.As(err, &fe) || !strings.HasPrefix(fe.Message, "The $filter") {
				t.Fatalf("ParseFilter(%q): %v is not a FilterError about the $filter", s, err)
			}
			return
		}
		if got.From.IsZero() {
			t.Fatalf("ParseFilter(%q) accepted a filter without a start", s)
		}
		if !got.To.IsZero() && got.To.Before(got.From) {
			t.Fatalf("ParseFilter(%q) accepted an empty range", s)
		}
		for _, v := range []string{got.ResourceGroup, got.ResourceURI, got.ResourceProvider, got.CorrelationID, got.Caller, got.Status} {
			if wiretext.Check(v) != nil {
				t.Fatalf("ParseFilter(%q) kept %q, which no store can", s, v)
			}
		}
		again, err := ParseFilter(got.String())
		if err != nil || !sameFilter(again, got) {
			t.Fatalf("ParseFilter(%q) = %+v renders as %q, which parses as %+v, %v", s, got, got.String(), again, err)
		}
	})
}
