// Package readme renders a release's long description (its README) to
// HTML that is safe to put in a page for people, once, just after the
// release is uploaded or registered (serve's README worker), or by
// `regenerate`.
//
// The renderer follows the description's content type, as PyPI does:
// text/markdown with goldmark (CommonMark plus GitHub's tables,
// strikethrough, autolinks), text/x-rst with docutils in a separate
// python3 process (raw directives and file insertion off, bounded in time,
// CPU and memory), anything else as preformatted text. reST that docutils
// cannot render, or a machine without docutils, falls back to
// preformatted text too. Whatever the renderer produced then goes through
// bluemonday's UGC policy, and links to other sites get
// rel="nofollow noopener ugc".
//
// The result carries Version, the renderer's version: a stored README whose
// version is older than the current one is rendered again by
// `cheeseshop regenerate`.
//
// Markdown without raw HTML of its own skips the HTML parse that balances
// any other markup (sanitizeGenerated): goldmark's output is balanced
// already, which TestGeneratedAsBalanced and FuzzGeneratedAsBalanced check
// against the parse, byte for byte.
//
// readme imports nothing internal; cmd hands Render to serve's README
// worker and to regenerate.
package readme
