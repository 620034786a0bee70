package search

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// pipCall is what pip 23.0.1 (xmlrpc.client) sends for `pip search cheese`.
const pipCall = `<?xml version='1.0'?>
<methodCall>
<methodName>search</methodName>
<params>
<param>
<value><struct>
<member>
<name>name</name>
<value><array><data>
<value><string>cheese</string></value>
</data></array></value>
</member>
<member>
<name>summary</name>
<value><array><data>
<value><string>cheese</string></value>
</data></array></value>
</member>
</struct></value>
</param>
<param>
<value><string>or</string></value>
</param>
</params>
</methodCall>
`

func TestParseCall(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		in     string
		method string
		params []any
	}{
		{"pip", pipCall, "search", []any{map[string]any{"name": []any{"cheese"}, "summary": []any{"cheese"}}, "or"}},
		{"no params", `<methodCall><methodName>system.listMethods</methodName></methodCall>`, "system.listMethods", nil},
		{"empty params", `<methodCall><methodName>m</methodName><params></params></methodCall>`, "m", nil},
		{"untyped string", `<methodCall><methodName>m</methodName><params><param><value> a b </value></param></params></methodCall>`, "m", []any{" a b "}},
		{"scalars", `<?xml version="1.0" encoding="UTF-8"?><!-- hi --><methodCall><methodName>m</methodName><params>` +
			`<param><value><int>1</int></value></param><param><value><boolean>0</boolean></value></param>` +
			`<param><value><nil/></value></param><param><value><string>&lt;&amp;&#233;&#x1F9C0;</string></value></param>` +
			`<param><value><string><![CDATA[<x>]]></string></value></param></params></methodCall>`,
			"m", []any{"1", "0", nil, "<&é🧀", "<x>"}},
		{"empty struct and array", `<methodCall><methodName>m</methodName><params><param><value><struct></struct></value></param>` +
			`<param><value><array><data></data></array></value></param></params></methodCall>`, "m", []any{map[string]any{}, []any{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseCall(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if c.Method != tc.method || !reflect.DeepEqual(c.Params, tc.params) {
				t.Errorf("got %q %#v, want %q %#v", c.Method, c.Params, tc.method, tc.params)
			}
		})
	}
}

func nested(n int) string {
	return `<methodCall><methodName>search</methodName><params><param><value>` +
		strings.Repeat("<array><data><value>", n) + "x" + strings.Repeat("</value></data></array>", n) +
		`</value></param></params></methodCall>`
}

func TestParseCallRefuses(t *testing.T) {
	t.Parallel()
	call := func(param string) string {
		return `<methodCall><methodName>search</methodName><params><param>` + param + `</param></params></methodCall>`
	}
	for _, tc := range []struct {
		name string
		in   string
		msg  string
	}{
		{"empty", ``, "ends early"},
		{"not xml", `{"method": "search"}`, "unexpected text"},
		{"wrong root", `<methodResponse/>`, "expected <methodCall>"},
		{"unclosed", `<methodCall><methodName>search</methodName>`, "unexpected EOF"},
		{"mismatched", `<methodCall><methodName>search</methodNam></methodCall>`, "line 1"},
		{"element in name", `<methodCall><methodName><b>x</b></methodName></methodCall>`, "unexpected <b>"},
		{"trailing root", `<methodCall><methodName>m</methodName></methodCall><methodCall/>`, "after </methodCall>"},
		{"trailing text", `<methodCall><methodName>m</methodName></methodCall>junk`, "after </methodCall>"},
		{"unknown type", call(`<value><object/></value>`), "unknown value type <object>"},
		{"text around element", call(`<value>x<string>y</string></value>`), "text before <string>"},
		{"two values", call(`<value><string>a</string><string>b</string></value>`), "unexpected <string>"},
		{"member without name", call(`<value><struct><member><value>1</value></member></struct></value>`), "expected <name>"},
		{"deep", nested(maxDepth), "nested deeper than 8"},
		{"very deep", nested(100000), "nested deeper"},
		{"many values", call(`<value><array><data>` + strings.Repeat(`<value>a</value>`, maxValues+1) + `</data></array></value>`), "more than 1000 values"},
		{"doctype", `<!DOCTYPE methodCall [<!ENTITY a "aaaaaaaaaa">]><methodCall><methodName>&a;</methodName></methodCall>`, "DTD"},
		{"billion laughs", `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>` +
			`<methodCall><methodName>&lol2;</methodName></methodCall>`, "DTD"},
		{"external entity", `<!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><methodCall><methodName>&xxe;</methodName></methodCall>`, "DTD"},
		{"undeclared entity", `<methodCall><methodName>&xxe;</methodName></methodCall>`, "invalid character entity &xxe;"},
		{"NUL reference", `<methodCall><methodName>a&#0;b</methodName></methodCall>`, "line 1"},
		{"invalid UTF-8", "<methodCall><methodName>a\xffb</methodName></methodCall>", "invalid UTF-8"},
		{"other encoding", `<?xml version="1.0" encoding="ISO-8859-1"?><methodCall><methodName>m</methodName></methodCall>`, "UTF-8, not ISO-8859-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseCall(strings.NewReader(tc.in))
			var f *fault
			if !errors.As(err, &f) {
				t.Fatalf("err %v, want a fault", err)
			}
			if f.Code != faultParse || !strings.Contains(f.Message, tc.msg) {
				t.Errorf("fault %d %q, want %d containing %q", f.Code, f.Message, faultParse, tc.msg)
			}
		})
	}
}

func TestSearchQuery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		params []any
		want   string
		msg    string
	}{
		{"pip", []any{map[string]any{"name": []any{"cheese"}, "summary": []any{"cheese"}}, "or"}, "cheese", ""},
		{"pip, two words", []any{map[string]any{"name": []any{"brie", "feta"}, "summary": []any{"brie", "feta"}}, "or"}, "brie or feta", ""},
		{"and by default", []any{map[string]any{"name": "brie feta"}}, "brie feta", ""},
		{"AND", []any{map[string]any{"summary": []any{"soft", "cheese"}}, "AND"}, "soft cheese", ""},
		{"other fields ignored", []any{map[string]any{"name": "brie", "author": "x"}}, "brie", ""},
		{"blank words", []any{map[string]any{"name": []any{" ", ""}}}, "", ""},
		{"no params", nil, "", "takes a struct"},
		{"three params", []any{map[string]any{}, "or", "x"}, "", "takes a struct"},
		{"not a struct", []any{"cheese"}, "", "must be a struct"},
		{"bad operator", []any{map[string]any{"name": "x"}, "xor"}, "", "'and' or 'or'"},
		{"operator not a string", []any{map[string]any{"name": "x"}, []any{}}, "", "'and' or 'or'"},
		{"no known field", []any{map[string]any{"author": "x"}}, "", "name and summary only"},
		{"number field", []any{map[string]any{"name": map[string]any{}}}, "", "string or a list of strings"},
		{"nested list", []any{map[string]any{"name": []any{[]any{"x"}}}}, "", "string or a list of strings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := searchQuery(tc.params)
			if tc.msg == "" {
				if err != nil || got != tc.want {
					t.Errorf("got %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			var f *fault
			if !errors.As(err, &f) || f.Code != faultInvalidParams || !strings.Contains(f.Message, tc.msg) {
				t.Errorf("err %v, want an invalid-params fault containing %q", err, tc.msg)
			}
		})
	}
}
