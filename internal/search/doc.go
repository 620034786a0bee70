// Package search answers searches for projects, the one part of the pages
// for people that needs the app: the page /search/?q=…&page=N, rendered
// live with webpage.RenderSearch, and the XML-RPC method `search` at
// POST /pypi and /RPC2, which `pip search --index URL` calls (PyPI has
// switched it off; Debian 12's pip still has the command).
//
// Both answer from one query, the store's Search (index.Store.Search). It
// owns the HTTP side only: query parameters, the XML-RPC codec (a bounded
// body, a bounded depth and number of values, no entities: encoding/xml
// expands none but the five predefined ones), and the headers of a page
// for people, which cmd passes in (static.WebSecurityHeaders), so the page
// is sent as the static ones are. A refusal goes through httperr's table;
// an XML-RPC refusal is a fault, as the protocol wants.
//
// It imports index (the query, its errors), httperr and webpage.
package search
