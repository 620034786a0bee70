package index

// ProjectState is everything a project's /simple pages are built from: the
// committed state of one project, read under its page lock.
type ProjectState struct {
	Project  Project
	Releases []Release // every release, including ones with no files
	Files    []File    // every file of every release
}

// RootState is what the /simple/ root index is built from.
type RootState struct {
	Serial   int64     // the global serial (highest journal id) the page reflects
	Projects []Project // every project; Name, Normalized and LastSerial are set
}
