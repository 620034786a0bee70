package upstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// maxPage bounds an upstream page. PyPI's largest project pages are a few
// tens of MB of JSON.
const maxPage = 128 << 20

// page is an upstream project page, as parsed.
type page struct {
	name     string   // as the upstream spells it; "" when it does not say
	versions []string // PEP 700; nil when the upstream does not list them
	files    []entry
	serial   int64 // X-PyPI-Last-Serial or _last-serial; 0 when unknown
}

// entry is one file of an upstream page, with what PEP 503, 592, 629, 658,
// 691, 700 and 714 let the upstream say about it.
type entry struct {
	filename       string
	url            *url.URL // absolute, without a fragment
	sha256         string   // lower-case hex; "" when the upstream gave none
	requiresPython string
	yanked         bool
	yankedReason   string
	uploadTime     string // RFC 3339, as the upstream wrote it; "" when unknown
	size           int64  // -1 when unknown
	metadata       bool   // a PEP 658 .metadata sits beside the file
	metadataSHA256 string
}

// Media types of simple pages (PEP 691).
const (
	typeV1JSON = "application/vnd.pypi.simple.v1+json"
	typeV1HTML = "application/vnd.pypi.simple.v1+html"
	acceptPage = typeV1JSON + ", " + typeV1HTML + ";q=0.2, text/html;q=0.01"
)

// parsePage parses an upstream page body of the given Content-Type; base
// resolves relative URLs.
func parsePage(contentType string, body []byte, base *url.URL) (page, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case typeV1JSON, "application/json":
		return parseJSON(body, base)
	case typeV1HTML, "text/html", "":
		return parseHTML(body, base)
	}
	return page{}, fmt.Errorf("unsupported content type %q", contentType)
}

// jsonPage is PEP 691's project page.
type jsonPage struct {
	Meta struct {
		APIVersion string `json:"api-version"`
		LastSerial int64  `json:"_last-serial"`
	} `json:"meta"`
	Name     string     `json:"name"`
	Versions []string   `json:"versions"`
	Files    []jsonFile `json:"files"`
}

type jsonFile struct {
	Filename         string            `json:"filename"`
	URL              string            `json:"url"`
	Hashes           map[string]string `json:"hashes"`
	RequiresPython   *string           `json:"requires-python"`
	Yanked           json.RawMessage   `json:"yanked"`
	UploadTime       *string           `json:"upload-time"`
	Size             *int64            `json:"size"`
	CoreMetadata     json.RawMessage   `json:"core-metadata"`
	DistInfoMetadata json.RawMessage   `json:"dist-info-metadata"`
}

func parseJSON(body []byte, base *url.URL) (page, error) {
	var jp jsonPage
	if err := json.Unmarshal(body, &jp); err != nil {
		return page{}, fmt.Errorf("JSON page: %w", err)
	}
	if !strings.HasPrefix(jp.Meta.APIVersion, "1.") {
		return page{}, fmt.Errorf("JSON page: api-version %q", jp.Meta.APIVersion)
	}
	p := page{name: jp.Name, versions: jp.Versions, serial: jp.Meta.LastSerial}
	for _, jf := range jp.Files {
		u, err := resolve(base, jf.URL)
		if err != nil {
			continue
		}
		e := entry{filename: jf.Filename, url: u, sha256: strings.ToLower(jf.Hashes["sha256"]), size: -1}
		if jf.RequiresPython != nil {
			e.requiresPython = *jf.RequiresPython
		}
		e.yanked, e.yankedReason = jsonYanked(jf.Yanked)
		if jf.UploadTime != nil {
			if _, err := time.Parse(time.RFC3339Nano, *jf.UploadTime); err == nil {
				e.uploadTime = *jf.UploadTime
			}
		}
		if jf.Size != nil && *jf.Size >= 0 {
			e.size = *jf.Size
		}
		md := jf.CoreMetadata // PEP 714's name first, then PEP 658's
		if len(md) == 0 || string(md) == "null" {
			md = jf.DistInfoMetadata
		}
		e.metadata, e.metadataSHA256 = jsonMetadata(md)
		p.files = append(p.files, e)
	}
	return p, nil
}

// jsonYanked reads PEP 691's yanked: false, true, or a reason.
func jsonYanked(raw json.RawMessage) (bool, string) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return true, s
	}
	return false, ""
}

// jsonMetadata reads PEP 714's core-metadata: false, true, or hashes.
func jsonMetadata(raw json.RawMessage) (bool, string) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, ""
	}
	var h map[string]string
	if json.Unmarshal(raw, &h) == nil {
		return true, strings.ToLower(h["sha256"])
	}
	return false, ""
}

func parseHTML(body []byte, base *url.URL) (page, error) {
	var p page
	z := html.NewTokenizer(bytes.NewReader(body))
	inTitle := false
	for {
		switch z.Next() {
		case html.ErrorToken:
			if err := z.Err(); !errors.Is(err, io.EOF) {
				return page{}, fmt.Errorf("HTML page: %w", err)
			}
			return p, nil
		case html.TextToken:
			if inTitle {
				p.name, _ = strings.CutPrefix(strings.TrimSpace(string(z.Text())), "Links for ")
			}
		case html.EndTagToken:
			inTitle = false
		case html.StartTagToken, html.SelfClosingTagToken:
			tn, hasAttr := z.TagName()
			switch atom.Lookup(tn) {
			case atom.Title:
				inTitle = true
			case atom.Base:
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					if string(k) == "href" {
						if u, err := base.Parse(string(v)); err == nil {
							base = u
						}
					}
				}
			case atom.A:
				if e, ok := htmlEntry(z, hasAttr, base); ok {
					p.files = append(p.files, e)
				}
			}
		}
	}
}

// htmlEntry reads one anchor of a PEP 503 page.
func htmlEntry(z *html.Tokenizer, hasAttr bool, base *url.URL) (entry, bool) {
	e := entry{size: -1}
	var href string
	var coreMD, distMD *string
	for hasAttr {
		var k, v []byte
		k, v, hasAttr = z.TagAttr()
		val := string(v)
		switch string(k) {
		case "href":
			href = val
		case "data-requires-python":
			e.requiresPython = val
		case "data-yanked":
			e.yanked, e.yankedReason = true, val
		case "data-core-metadata":
			coreMD = &val
		case "data-dist-info-metadata":
			distMD = &val
		}
	}
	if href == "" {
		return entry{}, false
	}
	u, err := base.Parse(href)
	if err != nil {
		return entry{}, false
	}
	if algo, hex, ok := strings.Cut(u.Fragment, "="); ok && algo == "sha256" {
		e.sha256 = strings.ToLower(hex)
	}
	u.Fragment, u.RawFragment = "", ""
	e.url = u
	e.filename = path.Base(u.Path)
	if md := cmpPtr(coreMD, distMD); md != nil && *md != "false" {
		e.metadata = true
		if algo, hex, ok := strings.Cut(*md, "="); ok && algo == "sha256" {
			e.metadataSHA256 = strings.ToLower(hex)
		}
	}
	return e, true
}

func cmpPtr(a, b *string) *string {
	if a != nil {
		return a
	}
	return b
}

// resolve makes ref absolute against base and drops its fragment.
func resolve(base *url.URL, ref string) (*url.URL, error) {
	u, err := base.Parse(ref)
	if err != nil {
		return nil, err
	}
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

// serialHeader reads X-PyPI-Last-Serial; 0 when absent or malformed.
func serialHeader(v string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
