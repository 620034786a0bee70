package index

import "context"

// ProjectState is everything a project's /simple pages are built from: the
// committed state of one project, read under its page lock.
type ProjectState struct {
	Project  Project
	Releases []Release // every release, including ones with no files
	Files    []File    // every file of every release

	// details reads releases' metadata and rendered READMEs in the
	// transaction the state was read in; nil for a state built by hand.
	details func(ctx context.Context, ids []int64) ([]ReleaseDetail, error)
}

// ReleaseDetail is what the pages for people show of a release beyond
// ProjectState: its metadata (without the raw description) and its
// rendered README.
type ReleaseDetail struct {
	ID       int64
	Metadata Metadata
	Readme   string // sanitised HTML
}

// ReleaseDetails reads the metadata and README of the given releases, under
// the lock the state was read under. For a state built by hand (bulk
// loads) it answers from Releases' Metadata, with no README.
func (st ProjectState) ReleaseDetails(ctx context.Context, ids []int64) ([]ReleaseDetail, error) {
	if st.details != nil {
		return st.details(ctx, ids)
	}
	out := make([]ReleaseDetail, 0, len(ids))
	for _, id := range ids {
		for _, r := range st.Releases {
			if r.ID == id {
				md := r.Metadata
				md.Description = ""
				out = append(out, ReleaseDetail{ID: id, Metadata: md})
			}
		}
	}
	return out, nil
}

// RootState is what the /simple/ root index is built from.
type RootState struct {
	Serial   int64     // the global serial (highest journal id) the page reflects
	Projects []Project // every project; Name, Normalized and LastSerial are set
}
