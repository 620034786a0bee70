package search

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// XML-RPC bounds. pip's search call is about 400 bytes and four values
// deep; these leave room for any honest client and bound what a hostile
// one costs.
const (
	maxBody   = 64 << 10 // bytes of a methodCall
	maxDepth  = 8        // values inside values (pip's: struct, array, string)
	maxValues = 1000     // values in one call
)

// Fault codes, from the XML-RPC fault code interoperability convention
// (xmlrpc-epi), which Python's xmlrpc.client also names.
const (
	faultParse          = -32700
	faultInvalidRequest = -32600
	faultNoMethod       = -32601
	faultInvalidParams  = -32602
	faultInternal       = -32603
)

// fault is an XML-RPC fault: its code and the text the client shows.
type fault struct {
	Code    int
	Message string
}

func (f *fault) Error() string { return fmt.Sprintf("xml-rpc fault %d: %s", f.Code, f.Message) }

func parseFault(format string, args ...any) *fault {
	return &fault{Code: faultParse, Message: fmt.Sprintf(format, args...)}
}

// call is a parsed methodCall. A parameter's value is a string (every
// scalar type: string, int, i4, i8, boolean, double, dateTime.iso8601,
// base64, as its text), nil, []any (an array) or map[string]any (a struct;
// a repeated member name keeps the last).
type call struct {
	Method string
	Params []any
}

// parseCall reads one XML-RPC methodCall. It accepts no DTD (so no entity
// but XML's five and character references), no text where the grammar
// has elements, and no more than maxDepth and maxValues values; the
// caller bounds the size of r.
func parseCall(r io.Reader) (call, error) {
	p := &parser{d: xml.NewDecoder(r)}
	// A call declared in an encoding other than UTF-8 is refused, as is
	// invalid UTF-8.
	p.d.CharsetReader = func(label string, _ io.Reader) (io.Reader, error) {
		return nil, parseFault("the call must be in UTF-8, not %s", elide(label))
	}
	var c call
	if err := p.expectStart("methodCall"); err != nil {
		return c, err
	}
	if err := p.expectStart("methodName"); err != nil {
		return c, err
	}
	name, err := p.text("methodName")
	if err != nil {
		return c, err
	}
	c.Method = strings.TrimSpace(name)
	t, err := p.element()
	if err != nil {
		return c, err
	}
	if se, ok := t.(xml.StartElement); ok && se.Name.Local == "params" {
		err := p.children("params", "param", func() error {
			v, err := p.startValue(1)
			if err != nil {
				return err
			}
			c.Params = append(c.Params, v)
			return p.expectEnd() // </param>
		})
		if err != nil {
			return c, err
		}
		t, err = p.element()
		if err != nil {
			return c, err
		}
	}
	if _, ok := t.(xml.EndElement); !ok {
		return c, parseFault("unexpected <%s> in <methodCall>", t.(xml.StartElement).Name.Local)
	}
	// Nothing but comments and white space after the root.
	for {
		t, err := p.token()
		if err == io.EOF {
			return c, nil
		}
		if err != nil {
			return c, err
		}
		if cd, ok := t.(xml.CharData); !ok || len(bytes.TrimSpace(cd)) != 0 {
			return c, parseFault("unexpected content after </methodCall>")
		}
	}
}

type parser struct {
	d      *xml.Decoder
	values int
}

// token returns the next token that is not a comment or a processing
// instruction; a DTD is refused.
func (p *parser) token() (xml.Token, error) {
	for {
		t, err := p.d.Token()
		if err == io.EOF {
			return nil, io.EOF
		}
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return nil, &fault{Code: faultInvalidRequest, Message: fmt.Sprintf("The call is larger than %d bytes.", maxBody)}
			}
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, parseFault("line %d: %s", se.Line, se.Msg)
			}
			var f *fault
			if errors.As(err, &f) {
				return nil, f
			}
			return nil, err
		}
		switch t := t.(type) {
		case xml.Comment, xml.ProcInst:
			continue
		case xml.Directive:
			return nil, parseFault("a DTD or other directive is not accepted")
		case xml.CharData:
			return t, nil
		default:
			return t, nil
		}
	}
}

// tokenInCall is token where the call may not end yet.
func (p *parser) tokenInCall() (xml.Token, error) {
	t, err := p.token()
	if err == io.EOF {
		return nil, parseFault("the call ends early")
	}
	return t, err
}

// element returns the next start or end element, skipping white space.
func (p *parser) element() (xml.Token, error) {
	for {
		t, err := p.tokenInCall()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return nil, parseFault("unexpected text %q", elide(string(t)))
			}
		case xml.StartElement, xml.EndElement:
			return t, nil
		}
	}
}

func (p *parser) expectStart(name string) error {
	t, err := p.element()
	if err != nil {
		return err
	}
	if se, ok := t.(xml.StartElement); !ok || se.Name.Local != name {
		return parseFault("expected <%s>", name)
	}
	return nil
}

// expectEnd reads the end of the current element (encoding/xml checks
// that it matches its start).
func (p *parser) expectEnd() error {
	t, err := p.element()
	if err != nil {
		return err
	}
	if se, ok := t.(xml.StartElement); ok {
		return parseFault("unexpected <%s>", se.Name.Local)
	}
	return nil
}

// chars reads character data up to the current element's end, or up to the
// start of an element inside it, which it returns (nil at the end).
func (p *parser) chars() (string, *xml.StartElement, error) {
	var b strings.Builder
	for {
		t, err := p.tokenInCall()
		if err != nil {
			return "", nil, err
		}
		switch t := t.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			return b.String(), &t, nil
		case xml.EndElement:
			return b.String(), nil, nil
		}
	}
}

// text reads the character data of an element up to its end; an element
// inside is refused.
func (p *parser) text(name string) (string, error) {
	s, inner, err := p.chars()
	if err != nil {
		return "", err
	}
	if inner != nil {
		return "", parseFault("unexpected <%s> in <%s>", inner.Name.Local, name)
	}
	return s, nil
}

// children reads the child elements of the current element up to its end:
// each must be a <child>, and each is called once that start is read (it
// reads the rest of the child).
func (p *parser) children(parent, child string, each func() error) error {
	for {
		t, err := p.element()
		if err != nil {
			return err
		}
		if _, ok := t.(xml.EndElement); ok {
			return nil // </parent>
		}
		if se := t.(xml.StartElement); se.Name.Local != child {
			return parseFault("unexpected <%s> in <%s>", se.Name.Local, parent)
		}
		if err := each(); err != nil {
			return err
		}
	}
}

// startValue reads a <value> start, the value and its end.
func (p *parser) startValue(depth int) (any, error) {
	if err := p.expectStart("value"); err != nil {
		return nil, err
	}
	return p.value(depth)
}

// value reads a value whose <value> start has been read, and its end.
func (p *parser) value(depth int) (any, error) {
	if p.values++; p.values > maxValues {
		return nil, parseFault("more than %d values", maxValues)
	}
	if depth > maxDepth {
		return nil, parseFault("values nested deeper than %d", maxDepth)
	}
	text, inner, err := p.chars()
	if err != nil {
		return nil, err
	}
	if inner == nil {
		return text, nil // an untyped value is a string
	}
	if len(strings.TrimSpace(text)) != 0 {
		return nil, parseFault("text before <%s> in <value>", inner.Name.Local)
	}
	v, err := p.typed(inner.Name.Local, depth)
	if err != nil {
		return nil, err
	}
	return v, p.expectEnd() // </value>
}

// typed reads a typed value whose start element, name, has been read, and
// its end.
func (p *parser) typed(name string, depth int) (any, error) {
	switch name {
	case "string", "int", "i4", "i8", "boolean", "double", "dateTime.iso8601", "base64":
		return p.text(name)
	case "nil":
		return nil, p.expectEnd()
	case "array":
		if err := p.expectStart("data"); err != nil {
			return nil, err
		}
		arr := []any{}
		err := p.children("data", "value", func() error {
			v, err := p.value(depth + 1)
			if err != nil {
				return err
			}
			arr = append(arr, v)
			return nil
		})
		if err != nil {
			return nil, err
		}
		return arr, p.expectEnd() // </array>
	case "struct":
		st := map[string]any{}
		err := p.children("struct", "member", func() error {
			if err := p.expectStart("name"); err != nil {
				return err
			}
			key, err := p.text("name")
			if err != nil {
				return err
			}
			v, err := p.startValue(depth + 1)
			if err != nil {
				return err
			}
			st[key] = v
			return p.expectEnd() // </member>
		})
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	return nil, parseFault("unknown value type <%s>", name)
}

func elide(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// member is one member of a struct in a response.
type member struct {
	Name  string
	Value any // string or int
}

// appendResponse appends a methodResponse whose one parameter is an array
// of structs.
func appendResponse(b *bytes.Buffer, rows [][]member) {
	b.WriteString("<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><array><data>\n")
	for _, row := range rows {
		b.WriteString("<value><struct>\n")
		for _, m := range row {
			b.WriteString("<member>\n<name>")
			xml.EscapeText(b, []byte(m.Name)) //nolint:errcheck // a bytes.Buffer
			b.WriteString("</name>\n<value>")
			switch v := m.Value.(type) {
			case int:
				fmt.Fprintf(b, "<int>%d</int>", v)
			case string:
				b.WriteString("<string>")
				xml.EscapeText(b, []byte(v)) //nolint:errcheck // a bytes.Buffer
				b.WriteString("</string>")
			}
			b.WriteString("</value>\n</member>\n")
		}
		b.WriteString("</struct></value>\n")
	}
	b.WriteString("</data></array></value>\n</param>\n</params>\n</methodResponse>\n")
}

// appendFault appends a methodResponse carrying fault f.
func appendFault(b *bytes.Buffer, f *fault) {
	fmt.Fprintf(b, "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n"+
		"<member>\n<name>faultCode</name>\n<value><int>%d</int></value>\n</member>\n"+
		"<member>\n<name>faultString</name>\n<value><string>", f.Code)
	xml.EscapeText(b, []byte(f.Message)) //nolint:errcheck // a bytes.Buffer
	b.WriteString("</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n")
}
