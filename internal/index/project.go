package index

import "time"

// Project is one project (a distribution name) and the serial of its last change.
type Project struct {
	ID         int64
	Name       string // display name, as last uploaded
	Normalized Normalized
	LastSerial int64
	CreatedAt  time.Time
	// Status is the PEP 792 status ("" reads as active); StatusReason the
	// text shown with it.
	Status       Status
	StatusReason string
}

// Release is one version of a project. Version is the PEP 440 normalised
// string; Canonical is packaging's canonicalize_version of it (trailing ".0"
// release segments stripped), which identifies the release.
type Release struct {
	ID           int64
	ProjectID    int64
	Version      string
	Canonical    string
	CreatedAt    time.Time
	Yanked       bool
	YankedReason string
	Metadata     Metadata
	Serial       int64 // the last journal entry naming the release (page reads only)
}

// Metadata is the core metadata of a release as sent in the upload form
// (PyPI takes it from the form, not from the file). Single-use fields are
// strings ("" means absent); multi-use fields are slices.
type Metadata struct {
	MetadataVersion        string              `json:"metadata_version"`
	Name                   string              `json:"name"`
	Version                string              `json:"version"`
	Summary                string              `json:"summary,omitempty"`
	Description            string              `json:"description,omitempty"`
	DescriptionContentType string              `json:"description_content_type,omitempty"`
	Keywords               string              `json:"keywords,omitempty"`
	HomePage               string              `json:"home_page,omitempty"`
	DownloadURL            string              `json:"download_url,omitempty"`
	Author                 string              `json:"author,omitempty"`
	AuthorEmail            string              `json:"author_email,omitempty"`
	Maintainer             string              `json:"maintainer,omitempty"`
	MaintainerEmail        string              `json:"maintainer_email,omitempty"`
	License                string              `json:"license,omitempty"`
	LicenseExpression      string              `json:"license_expression,omitempty"`
	RequiresPython         string              `json:"requires_python,omitempty"`
	Classifiers            []string            `json:"classifiers,omitempty"`
	Platforms              []string            `json:"platform,omitempty"`
	SupportedPlatforms     []string            `json:"supported_platform,omitempty"`
	Requires               []string            `json:"requires,omitempty"`
	Provides               []string            `json:"provides,omitempty"`
	Obsoletes              []string            `json:"obsoletes,omitempty"`
	RequiresDist           []string            `json:"requires_dist,omitempty"`
	ProvidesDist           []string            `json:"provides_dist,omitempty"`
	ObsoletesDist          []string            `json:"obsoletes_dist,omitempty"`
	RequiresExternal       []string            `json:"requires_external,omitempty"`
	ProvidesExtra          []string            `json:"provides_extra,omitempty"`
	Dynamic                []string            `json:"dynamic,omitempty"`
	LicenseFiles           []string            `json:"license_file,omitempty"`
	ProjectURLs            []ProjectURL        `json:"project_urls,omitempty"`
	Extra                  map[string][]string `json:"-"`
}

// ProjectURL is one "Project-URL: label, url" entry.
type ProjectURL struct {
	Label string `json:"label"`
	URL   string `json:"url"`
}

// PackageType is the kind of distribution file.
type PackageType string

// The package types PyPI still accepts (PEP 527, PEP 715).
const (
	Sdist PackageType = "sdist"
	Wheel PackageType = "bdist_wheel"
)

// File is one distribution file of a release.
type File struct {
	ID             int64
	ReleaseID      int64
	ProjectID      int64
	Filename       string
	Type           PackageType
	PythonVersion  string // "source" for sdists, the wheel's python tag(s) otherwise
	Size           int64
	SHA256         string // lower-case hex
	MD5            string
	Blake2b256     string
	UploadTime     time.Time
	RequiresPython string // the release's Requires-Python at upload time
	Path           string // relative to the data directory's packages/ folder
	MetadataSHA256 string // sha256 of the PEP 658 <file>.metadata, "" for none
	CDNURL         string // "" until the mirror worker recorded a verified copy
	CommentText    string
}
