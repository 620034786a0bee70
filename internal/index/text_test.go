package index

import "testing"

func TestTextProblem(t *testing.T) {
	t.Parallel()
	checkResults(t, "TextProblem", TextProblem, []textCase[string]{
		{"", ""},
		{"alice", ""},
		{"Zoë ünïcode ✓", ""},
		{"al\x00ice", "contains a NUL byte"},
		{"\x00", "contains a NUL byte"},
		{"\xff", "is not valid UTF-8"},
		{"caf\xc3", "is not valid UTF-8"},      // truncated sequence
		{"\xed\xa0\x80", "is not valid UTF-8"}, // a UTF-16 surrogate
		{"\xff\x00", "contains a NUL byte"},
	})
}
