// Package seed makes a realistic synthetic index for benchmarks: PyPI-like
// project names, a long-tailed number of files per project (most projects
// have a handful, a few have thousands), releases with wheels and sdists, and
// upload times spread over years. It builds index.ProjectState values; the
// caller loads them with index.Store.BulkInsert and renders their pages.
//
// It imports index and datadir (for the files' content-addressed paths)
// only, and it is deterministic for a given seed.
package seed

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/blake2b"

	"github.com/cheeseshop/cheeseshop/internal/datadir"
	"github.com/cheeseshop/cheeseshop/internal/index"
)

// Dist says how many files a project gets.
type Dist struct {
	Fixed int     // when > 0, every project gets exactly this many files
	Alpha float64 // Pareto shape for the long tail (PyPI's file counts are heavy-tailed)
	Max   int     // cap on files per project
}

// ParseDist reads "N" (fixed) or "longtail[:alpha[:max]]" (default longtail:1.6:10000).
func ParseDist(s string) (Dist, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 {
			return Dist{}, fmt.Errorf("files per project must not be negative")
		}
		return Dist{Fixed: n}, nil
	}
	d := Dist{Alpha: 1.6, Max: 10000}
	parts := strings.Split(s, ":")
	if parts[0] != "longtail" {
		return Dist{}, fmt.Errorf("distribution %q: want a number or longtail[:alpha[:max]]", s)
	}
	if len(parts) > 1 {
		a, err := strconv.ParseFloat(parts[1], 64)
		if err != nil || a <= 1 {
			return Dist{}, fmt.Errorf("distribution %q: alpha must be a number > 1", s)
		}
		d.Alpha = a
	}
	if len(parts) > 2 {
		m, err := strconv.Atoi(parts[2])
		if err != nil || m < 1 {
			return Dist{}, fmt.Errorf("distribution %q: max must be a positive number", s)
		}
		d.Max = m
	}
	return d, nil
}

// count draws a file count: Pareto(alpha) with minimum 1, capped.
func (d Dist) count(r *rand.Rand) int {
	if d.Fixed > 0 {
		return d.Fixed
	}
	u := 1 - r.Float64()
	n := int(math.Floor(math.Pow(u, -1/d.Alpha)))
	return max(1, min(n, d.Max))
}

// Generator makes projects one batch at a time.
type Generator struct {
	r     *rand.Rand
	dist  Dist
	names map[index.Normalized]bool
	now   time.Time
	next  int
}

// New returns a generator; the same seed gives the same index.
func New(seed uint64, dist Dist, now time.Time) *Generator {
	return &Generator{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), dist: dist, names: map[index.Normalized]bool{}, now: now}
}

var words = strings.Fields(`py django flask requests numpy data cloud aws azure google api client sdk async
	http json yaml toml test pytest mock lint type typed fast tiny simple easy super auto open
	graph ml ai torch tensor learn vision text nlp audio image video geo time date log logging
	config env secret crypto auth oauth jwt db sql postgres redis kafka queue task job worker
	cli tool kit utils core base plugin ext contrib admin rest rpc grpc proto schema model
	parser render template docs sphinx build pack wheel cache store sync stream event pipe`)

// name makes a PyPI-like display name whose normalised form is new.
func (g *Generator) name() string {
	for {
		n := 1 + g.r.IntN(3)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = words[g.r.IntN(len(words))]
		}
		seps := []string{"-", "-", "-", "_", "."}
		name := strings.Join(parts, seps[g.r.IntN(len(seps))])
		if g.r.IntN(3) == 0 || g.names[index.Normalize(name)] {
			name += strconv.Itoa(g.next)
		}
		if g.r.IntN(10) == 0 {
			name = strings.ToUpper(name[:1]) + name[1:]
		}
		norm := index.Normalize(name)
		if !g.names[norm] && index.ValidName(name) {
			g.names[norm] = true
			g.next++
			return name
		}
	}
}

// Project makes one project with files files (a negative number draws from the distribution).
func (g *Generator) Project(files int, name string) index.ProjectState {
	if name == "" {
		name = g.name()
	} else {
		g.names[index.Normalize(name)] = true
	}
	if files < 0 {
		files = g.dist.count(g.r)
	}
	created := g.now.Add(-time.Duration(g.r.Int64N(int64(10 * 365 * 24 * time.Hour))))
	st := index.ProjectState{Project: index.Project{Name: name, Normalized: index.Normalize(name), CreatedAt: created}}
	stem := strings.ReplaceAll(string(st.Project.Normalized), "-", "_")
	// Releases of 1–4 files each: a wheel or two and an sdist.
	var rel *index.Release
	var summary string
	perRelease, inRelease := 0, 0
	major, minor, patch := 0, 1, 0
	t := created
	for i := 0; i < files; i++ {
		if rel == nil || inRelease == perRelease {
			patch++
			if g.r.IntN(5) == 0 {
				minor, patch = minor+1, 0
			}
			if g.r.IntN(20) == 0 {
				major, minor, patch = major+1, 0, 0
			}
			v := fmt.Sprintf("%d.%d.%d", major, minor, patch)
			if summary == "" || len(st.Releases)%8 == 7 {
				summary = Summary(name, len(st.Releases))
			}
			t = t.Add(time.Duration(g.r.Int64N(int64(30 * 24 * time.Hour))))
			st.Releases = append(st.Releases, index.Release{
				ID: int64(len(st.Releases) + 1), Version: v, Canonical: canonical(major, minor, patch), CreatedAt: t,
				Yanked: g.r.IntN(200) == 0,
				Metadata: index.Metadata{MetadataVersion: "2.1", Name: name, Version: v,
					Summary: summary, RequiresPython: ">=3.8"},
			})
			rel = &st.Releases[len(st.Releases)-1]
			perRelease, inRelease = 1+g.r.IntN(4), 0
		}
		var fn string
		var typ index.PackageType
		pyv := "py3"
		switch inRelease {
		case 0:
			fn, typ, pyv = stem+"-"+rel.Version+".tar.gz", index.Sdist, "source"
		case 1:
			fn, typ = stem+"-"+rel.Version+"-py3-none-any.whl", index.Wheel
		default:
			fn, typ = fmt.Sprintf("%s-%s-cp3%d-cp3%d-manylinux_2_17_x86_64.whl", stem, rel.Version, 7+inRelease, 7+inRelease), index.Wheel
			pyv = fmt.Sprintf("cp3%d", 7+inRelease)
		}
		inRelease++
		st.Files = append(st.Files, g.file(rel, fn, typ, pyv, t))
	}
	return st
}

// Summary words: what projects do, and for what, besides the name words.
var (
	adjectives = strings.Fields(`simple fast small modern lightweight pure robust typed async minimal
		extensible declarative friendly secure portable efficient pluggable experimental unofficial official`)
	nouns = strings.Fields(`library toolkit framework client wrapper binding helper extension plugin
		implementation interface server parser generator backend adapter driver validator scheduler`)
	topics = strings.Split("humans,developers,testing,scientific computing,machine learning,web applications,"+
		"command line interfaces,data analysis,cloud storage,message queues,static sites,documentation,"+
		"type checking,configuration files,database migrations,image processing,natural language,time series,"+
		"geospatial data,authentication,payments,monitoring,metrics,logging,tracing,networking,packaging", ",")
)

// Summary makes a release's PyPI-like one-line summary, a function of the
// project's name and the release's place so that the generator's random
// sequence (and so every seeded index) stays what it was: a few words from
// the name and some from a wider vocabulary, like "A fast client library
// for cloud storage and django".
func Summary(name string, release int) string {
	h := fnv.New64a()
	h.Write([]byte(name))
	x := h.Sum64() + uint64(release)*0x9e3779b97f4a7c15
	pick := func(ws []string) string {
		w := ws[x%uint64(len(ws))]
		x = x/uint64(len(ws)) + x*0x2545f4914f6cdd1d
		return w
	}
	parts := strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' || r == '.' })
	adj := pick(adjectives)
	a := "A "
	if strings.ContainsRune("aeiou", rune(adj[0])) {
		a = "An "
	}
	s := a + adj + " " + pick(words) + " " + pick(nouns) + " for " + pick(topics)
	if len(parts) > 0 && x%2 == 0 {
		s += " and " + strings.ToLower(parts[0])
	}
	return s
}

func canonical(major, minor, patch int) string {
	switch {
	case patch != 0:
		return fmt.Sprintf("%d.%d.%d", major, minor, patch)
	case minor != 0:
		return fmt.Sprintf("%d.%d", major, minor)
	}
	return strconv.Itoa(major)
}

// Content returns the synthetic bytes of a file: small, unique per filename.
func Content(filename string) []byte {
	return []byte("cheeseshop synthetic distribution file " + filename + "\n")
}

// Metadata returns the synthetic PEP 658 sidecar of a wheel.
func Metadata(filename string) []byte {
	name, rest, _ := strings.Cut(filename, "-")
	version, _, _ := strings.Cut(rest, "-")
	return []byte("Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n")
}

func (g *Generator) file(rel *index.Release, fn string, typ index.PackageType, pyv string, t time.Time) index.File {
	body := Content(fn)
	s := sha256.Sum256(body)
	m := md5.Sum(body)
	b := blake2b.Sum256(body)
	bh := hex.EncodeToString(b[:])
	f := index.File{
		ReleaseID: rel.ID, Filename: fn, Type: typ, PythonVersion: pyv, Size: int64(len(body)),
		SHA256: hex.EncodeToString(s[:]), MD5: hex.EncodeToString(m[:]), Blake2b256: bh,
		UploadTime: t.Add(time.Duration(g.r.Int64N(int64(time.Hour)))).UTC(), RequiresPython: ">=3.8",
		Path: datadir.PackagePath(bh, fn),
	}
	if typ == index.Wheel {
		md := sha256.Sum256(Metadata(fn))
		f.MetadataSHA256 = hex.EncodeToString(md[:])
	}
	return f
}
