package jsonapi

import (
	"cmp"
	"slices"
	"strings"

	"github.com/cheeseshop/cheeseshop/internal/index"
)

// The response types. Fields are declared in alphabetical order because
// Warehouse sorts keys, and tools that diff responses (mirrors, caches)
// then see the same bytes for the same state. Absent metadata is null, as
// on PyPI; lists that PyPI always sends are never null.

// document is the whole response.
type document struct {
	Info            info                  `json:"info"`
	LastSerial      int64                 `json:"last_serial"`
	Ownership       ownership             `json:"ownership"`
	ProjectStatus   projectStatus         `json:"project-status"`     // PEP 792, as on the simple pages
	Releases        map[string][]fileJSON `json:"releases,omitempty"` // project URL only; keys sorted by encoding/json, as PyPI's
	URLs            []fileJSON            `json:"urls"`
	Vulnerabilities []struct{}            `json:"vulnerabilities"`
}

// projectStatus is the PEP 792 status, in the simple API's shape.
type projectStatus struct {
	Status string  `json:"status"`
	Reason *string `json:"reason,omitempty"`
}

type info struct {
	Author                 *string           `json:"author"`
	AuthorEmail            *string           `json:"author_email"`
	BugtrackURL            *string           `json:"bugtrack_url"`
	Classifiers            []string          `json:"classifiers"`
	Description            *string           `json:"description"`
	DescriptionContentType *string           `json:"description_content_type"`
	DocsURL                *string           `json:"docs_url"`
	DownloadURL            *string           `json:"download_url"`
	Downloads              downloads         `json:"downloads"`
	Dynamic                []string          `json:"dynamic"`
	HomePage               *string           `json:"home_page"`
	Keywords               *string           `json:"keywords"`
	License                *string           `json:"license"`
	LicenseExpression      *string           `json:"license_expression"`
	LicenseFiles           []string          `json:"license_files"`
	Maintainer             *string           `json:"maintainer"`
	MaintainerEmail        *string           `json:"maintainer_email"`
	Name                   string            `json:"name"`
	PackageURL             string            `json:"package_url"`
	Platform               *string           `json:"platform"`
	ProjectURL             string            `json:"project_url"`
	ProjectURLs            map[string]string `json:"project_urls"`
	ProvidesExtra          []string          `json:"provides_extra"`
	ReleaseURL             string            `json:"release_url"`
	RequiresDist           []string          `json:"requires_dist"`
	RequiresPython         *string           `json:"requires_python"`
	Summary                *string           `json:"summary"`
	Version                string            `json:"version"`
	Yanked                 bool              `json:"yanked"`
	YankedReason           *string           `json:"yanked_reason"`
}

// downloads are no longer counted on PyPI either; -1 is its "unknown".
type downloads struct {
	LastDay   int `json:"last_day"`
	LastMonth int `json:"last_month"`
	LastWeek  int `json:"last_week"`
}

type ownership struct {
	Organization *string    `json:"organization"`
	Roles        []roleJSON `json:"roles"`
}

type roleJSON struct {
	Role string `json:"role"`
	User string `json:"user"`
}

type fileJSON struct {
	CommentText       *string `json:"comment_text"`
	CoreMetadata      any     `json:"core-metadata"` // false or {"sha256": hex} (PEP 658/714)
	Digests           digests `json:"digests"`
	Downloads         int     `json:"downloads"`
	Filename          string  `json:"filename"`
	HasSig            bool    `json:"has_sig"`
	MD5Digest         string  `json:"md5_digest"`
	PackageType       string  `json:"packagetype"`
	PythonVersion     string  `json:"python_version"`
	RequiresPython    *string `json:"requires_python"`
	Size              int64   `json:"size"`
	UploadTime        string  `json:"upload_time"`
	UploadTimeISO8601 string  `json:"upload_time_iso_8601"`
	URL               string  `json:"url"`
	Yanked            bool    `json:"yanked"`
	YankedReason      *string `json:"yanked_reason"`
}

type digests struct {
	Blake2b256 string `json:"blake2b_256"`
	MD5        string `json:"md5"`
	SHA256     string `json:"sha256"`
}

// release is one release with its parsed version, for ordering.
type release struct {
	r  *index.Release
	v  index.Version
	ok bool // the version parses (the upload path stores only ones that do)
}

// build makes the response for the project, or for one release of it when
// version is not "". A project without releases, and an unknown release,
// are ErrNotFound.
func build(d index.ProjectDetail, version, base string) (document, error) {
	p := d.Project
	rels := make([]release, len(d.Releases))
	for i := range d.Releases {
		r := &d.Releases[i]
		v, err := index.ParseVersion(r.Version)
		rels[i] = release{r: r, v: v, ok: err == nil}
	}
	if len(rels) == 0 {
		return document{}, index.Errorf(index.ErrNotFound, "project %q has no releases", p.Name)
	}
	var sel *release
	if version == "" {
		sel = latest(rels)
	} else if v, err := index.ParseVersion(version); err == nil {
		for i := range rels {
			if rels[i].ok && rels[i].v.Canonical() == v.Canonical() {
				sel = &rels[i]
				break
			}
		}
	}
	if sel == nil {
		return document{}, index.Errorf(index.ErrNotFound, "project %q has no release %q", p.Name, version)
	}

	files := map[int64][]fileJSON{}
	byID := map[int64]*index.Release{}
	for _, r := range rels {
		byID[r.r.ID] = r.r
	}
	sorted := slices.Clone(d.Files)
	slices.SortFunc(sorted, func(a, b index.File) int {
		return cmp.Or(strings.Compare(a.Filename, b.Filename), cmp.Compare(a.ID, b.ID))
	})
	for i := range sorted {
		f := &sorted[i]
		if !p.Status.OffersFiles() {
			break // PEP 792: a quarantined project offers no files
		}
		if r := byID[f.ReleaseID]; r != nil {
			files[r.ID] = append(files[r.ID], fileDoc(f, r, base))
		}
	}

	doc := document{
		Info:            infoDoc(p, sel.r, base),
		LastSerial:      p.LastSerial,
		Ownership:       ownership{Roles: []roleJSON{}},
		ProjectStatus:   projectStatus{Status: p.Status.String()},
		URLs:            nonNil(files[sel.r.ID]),
		Vulnerabilities: []struct{}{},
	}
	if p.StatusReason != "" {
		doc.ProjectStatus.Reason = &p.StatusReason
	}
	for _, ra := range d.Roles {
		doc.Ownership.Roles = append(doc.Ownership.Roles, roleJSON{Role: index.RoleTitle(ra.Role), User: ra.User})
	}
	if version == "" {
		doc.Releases = make(map[string][]fileJSON, len(rels))
		for _, r := range rels {
			doc.Releases[r.r.Version] = nonNil(files[r.r.ID])
		}
	}
	return doc, nil
}

// latest picks the release the project URL describes, as Warehouse does:
// not yanked before yanked, final before pre-release, then the highest
// version.
func latest(rels []release) *release {
	best := &rels[0]
	for i := 1; i < len(rels); i++ {
		if better(&rels[i], best) {
			best = &rels[i]
		}
	}
	return best
}

func better(a, b *release) bool {
	if a.r.Yanked != b.r.Yanked {
		return !a.r.Yanked
	}
	if a.ok != b.ok {
		return a.ok
	}
	if !a.ok {
		return a.r.ID > b.r.ID
	}
	if ap, bp := a.v.IsPrerelease(), b.v.IsPrerelease(); ap != bp {
		return !ap
	}
	if c := a.v.Compare(b.v); c != 0 {
		return c > 0
	}
	return a.r.ID > b.r.ID
}

func infoDoc(p index.Project, r *index.Release, base string) info {
	md := r.Metadata
	urls := map[string]string(nil)
	if len(md.ProjectURLs) > 0 {
		urls = make(map[string]string, len(md.ProjectURLs))
		for _, u := range md.ProjectURLs {
			urls[u.Label] = u.URL
		}
	}
	return info{
		Author:                 str(md.Author),
		AuthorEmail:            str(md.AuthorEmail),
		Classifiers:            nonNil(md.Classifiers),
		Description:            str(md.Description),
		DescriptionContentType: str(md.DescriptionContentType),
		DownloadURL:            str(md.DownloadURL),
		Downloads:              downloads{LastDay: -1, LastMonth: -1, LastWeek: -1},
		Dynamic:                md.Dynamic,
		HomePage:               str(md.HomePage),
		Keywords:               str(md.Keywords),
		License:                str(md.License),
		LicenseExpression:      str(md.LicenseExpression),
		LicenseFiles:           md.LicenseFiles,
		Maintainer:             str(md.Maintainer),
		MaintainerEmail:        str(md.MaintainerEmail),
		Name:                   p.Name,
		PackageURL:             base + "/project/" + string(p.Normalized) + "/",
		Platform:               str(strings.Join(md.Platforms, ", ")),
		ProjectURL:             base + "/project/" + string(p.Normalized) + "/",
		ProjectURLs:            urls,
		ProvidesExtra:          md.ProvidesExtra,
		ReleaseURL:             base + "/project/" + string(p.Normalized) + "/" + r.Version + "/",
		RequiresDist:           md.RequiresDist,
		RequiresPython:         str(md.RequiresPython),
		Summary:                str(md.Summary),
		Version:                r.Version,
		Yanked:                 r.Yanked,
		YankedReason:           str(r.YankedReason),
	}
}

func fileDoc(f *index.File, r *index.Release, base string) fileJSON {
	url := index.FileURL(base+"/packages/", f)
	var core any = false
	if f.MetadataSHA256 != "" {
		core = map[string]string{"sha256": f.MetadataSHA256}
	}
	t := f.UploadTime.UTC()
	return fileJSON{
		CommentText:    str(f.CommentText),
		CoreMetadata:   core,
		Digests:        digests{Blake2b256: f.Blake2b256, MD5: f.MD5, SHA256: f.SHA256},
		Downloads:      -1,
		Filename:       f.Filename,
		MD5Digest:      f.MD5,
		PackageType:    string(f.Type),
		PythonVersion:  f.PythonVersion,
		RequiresPython: str(f.RequiresPython),
		Size:           f.Size,
		UploadTime:     t.Format("2006-01-02T15:04:05"),
		// Exactly six fraction digits: bandersnatch parses this with
		// datetime.fromisoformat, which before Python 3.11 takes 0, 3 or 6.
		UploadTimeISO8601: t.Format("2006-01-02T15:04:05.000000") + "Z",
		URL:               url,
		Yanked:            r.Yanked,
		YankedReason:      str(r.YankedReason),
	}
}

// str is nil for "" (JSON null, PyPI's "absent").
func str(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
