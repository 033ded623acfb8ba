package profiles

import (
	"encoding/csv"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
)

var (
	dataNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	// dataRefRE matches a {data:NAME.COLUMN} placeholder.
	dataRefRE = regexp.MustCompile(`\{data:([^{}]*)\}`)
)

// checkData checks the data files (names, readable headers) and that the
// requests' {data:NAME.COLUMN} placeholders name a data file and one of
// its columns. The rows are read when the run starts.
func (s *Scenario) checkData(c *checker) {
	columns := map[string][]string{} // by name; nil when the header is unreadable
	files := map[string]string{}
	var names []string
	for i, d := range s.Data {
		p := fmt.Sprintf("data[%d]", i)
		switch _, dup := files[d.Name]; {
		case d.Name == "":
			c.errorf(p+".name", "required")
		case !dataNameRE.MatchString(d.Name):
			c.errorf(p+".name", "found %q, want letters, digits, _ and -", d.Name)
		case dup:
			c.errorf(p+".name", "duplicate data name %q", d.Name)
		}
		names = append(names, d.Name)
		files[d.Name] = d.File
		if d.File == "" {
			c.errorf(p+".file", "required: a CSV file whose first row names the columns")
			continue
		}
		cols, err := csvHeader(d.File)
		if err != nil {
			c.errorf(p+".file", "%v", err)
			continue
		}
		columns[d.Name] = cols
	}
	sort.Strings(names)
	for i, r := range s.Requests {
		p := fmt.Sprintf("requests[%d]", i)
		check := func(path, text string) {
			for _, m := range dataRefRE.FindAllStringSubmatch(text, -1) {
				name, col, dot := strings.Cut(m[1], ".")
				file, ok := files[name]
				switch {
				case !dot || name == "" || col == "":
					c.errorf(path, "%s: want {data:NAME.COLUMN}, e.g. {data:users.id}", m[0])
				case !ok && len(names) == 0:
					c.errorf(path, "%s: no data named %q: the profile has no data files (add data: [{name: %s, file: FILE.csv}])", m[0], name, name)
				case !ok:
					c.errorf(path, "%s: no data named %q; %s", m[0], name, didYouMean(name, names))
				case columns[name] != nil && !slices.Contains(columns[name], col):
					c.errorf(path, "%s: %s:1: no column %q in the header; columns: %s", m[0], file, col, strings.Join(columns[name], ", "))
				}
			}
		}
		check(p+".path", r.Path)
		check(p+".body", r.Body)
		for k, v := range r.Headers {
			check(join(p+".headers", k), v)
		}
	}
}

// csvHeader reads the first row of a CSV file.
func csvHeader(file string) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", file, err)
	}
	defer f.Close()
	rec, err := csv.NewReader(f).Read()
	if err != nil {
		return nil, fmt.Errorf("read the header of %s: %w", file, err)
	}
	rec[0] = strings.TrimPrefix(rec[0], "\ufeff") // as workload.ParseData
	return rec, nil
}
