package cors

import (
	"net/http"
	"reflect"
	"testing"
)

func TestHeaders(t *testing.T) {
	tests := []struct {
		name string
		set  func(http.Header)
		want http.Header
	}{
		{"read", Read, http.Header{
			"Access-Control-Allow-Origin":   {"*"},
			"Access-Control-Expose-Headers": {"X-PyPI-Last-Serial"},
		}},
		{"preflight", Preflight, http.Header{
			"Access-Control-Allow-Origin":   {"*"},
			"Access-Control-Expose-Headers": {"X-PyPI-Last-Serial"},
			"Access-Control-Allow-Methods":  {"GET"},
			"Access-Control-Allow-Headers":  {"Content-Type, If-Match, If-Modified-Since, If-None-Match, If-Unmodified-Since"},
			"Access-Control-Max-Age":        {"86400"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			tt.set(h)
			if !reflect.DeepEqual(h, tt.want) {
				t.Errorf("got %v, want %v", h, tt.want)
			}
			// The shared values must not be appended to in place.
			h.Add("Access-Control-Allow-Origin", "https://example.org")
			h2 := http.Header{}
			tt.set(h2)
			if got := h2["Access-Control-Allow-Origin"]; len(got) != 1 {
				t.Errorf("a later Add changed the shared value: %v", got)
			}
		})
	}
}
