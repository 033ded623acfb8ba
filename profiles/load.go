package profiles

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

//go:embed builtin/*.yaml
var builtinFS embed.FS

// builtinDir is the embedded profiles' folder, also the name errors give
// their file.
const builtinDir = "builtin"

// Document is a parsed profile before overrides: its text as a tree, and
// the scenario as written (decoded, not yet validated, since variants may
// complete it). A Document is safe for concurrent use: Resolve does not
// change it.
type Document struct {
	name string // file name in messages
	dir  string // directory that body files are relative to; "" for built-ins
	root *node
	base *Scenario
}

// Name returns the name errors use for the document's file.
func (d *Document) Name() string { return d.name }

// Description returns the profile's one-line description.
func (d *Document) Description() string { return d.base.Description }

// Variants returns the names of the profile's variants, in order.
func (d *Document) Variants() []string {
	out := make([]string, len(d.base.Variants))
	for i, v := range d.base.Variants {
		out[i] = v.Name
	}
	return out
}

// Parse parses a profile, expanding the process's environment in its
// string values (see ParseEnv).
func Parse(name, dir string, data []byte) (*Document, error) {
	return ParseEnv(name, dir, data, os.LookupEnv)
}

// ParseEnv parses a profile. name is used in error messages
// (file:line:col); dir is the directory that relative body and data files
// are read from. ${NAME} and ${NAME:-DEFAULT} in string values are
// expanded with lookup ($$ is a literal $), and an unset variable without
// a default is refused at its value's position; the resolved scenario
// displays (YAML, JSON) such values as written, so a secret taken from the
// environment is not printed. Unknown fields and values of the wrong type
// are refused here; the rest of the checks run in Resolve, on each
// variant.
func ParseEnv(name, dir string, data []byte, lookup Lookup) (*Document, error) {
	root, err := parseYAML(name, data)
	if err != nil {
		return nil, Errors{asFieldError(name, err)}
	}
	var envErrs Errors
	expandTree(root, "", lookup, &envErrs)
	if len(envErrs) > 0 {
		return nil, envErrs.sorted()
	}
	if root.kind != mapNode {
		return nil, Errors{{Pos: root.pos, Msg: fmt.Sprintf("found %s, want a mapping with fields %s", root.describe(), strings.Join(fieldNames(typeOfScenario), ", "))}}
	}
	dec := newDecoder()
	base := &Scenario{}
	dec.decode(root, reflectValue(base), "")
	if len(dec.errs) > 0 {
		return nil, dec.errs.sorted()
	}
	return &Document{name: name, dir: dir, root: root, base: base}, nil
}

func asFieldError(name string, err error) *FieldError {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe
	}
	return &FieldError{Pos: Pos{File: name, Line: 1, Col: 1}, Msg: err.Error()}
}

// Options selects how a profile is resolved into runs.
type Options struct {
	// Short applies the profile's `short` overrides.
	Short bool
	// Variants selects variants by name, in the profile's order; empty:
	// all of them.
	Variants []string
	// Set holds command-line overrides "path=value", applied last. value
	// is read as YAML (300 is a number, [a, b] a list).
	Set []string
}

// Run is one resolved scenario to play: a variant of the profile (or the
// profile itself when it has none).
type Run struct {
	// Name of the variant; empty when the profile has no variants.
	Name string
	// Description of the variant.
	Description string
	// Scenario is the profile with the overrides applied, defaults filled
	// in and validated. Its Variants and Short are cleared.
	Scenario *Scenario
}

// Resolve applies overrides (short, then the variant's set, then --set),
// fills in defaults and validates, once per selected variant. It returns
// every problem of every variant at once.
func (d *Document) Resolve(opts Options) ([]Run, error) {
	var errs Errors
	sets := make([]override, 0, len(opts.Set))
	for _, s := range opts.Set {
		p, v, ok := strings.Cut(s, "=")
		at := Pos{File: "--set " + s}
		if !ok || strings.TrimSpace(p) == "" {
			errs = append(errs, &FieldError{Pos: at, Msg: "want path=value, e.g. client.max_attempts=3"})
			continue
		}
		sets = append(sets, override{path: strings.TrimSpace(p), value: parseValue(v, at), pos: at})
	}
	variants := []Variant{{}}
	if len(d.base.Variants) > 0 {
		variants = d.base.Variants
	}
	if len(opts.Variants) > 0 {
		var picked []Variant
		known := d.Variants()
		for _, name := range opts.Variants {
			found := false
			for _, v := range d.base.Variants {
				if v.Name == name {
					picked, found = append(picked, v), true
				}
			}
			if !found {
				msg := fmt.Sprintf("unknown variant %q; %s", name, didYouMean(name, known))
				if len(known) == 0 {
					msg = fmt.Sprintf("unknown variant %q: the profile has no variants", name)
				}
				errs = append(errs, &FieldError{Pos: Pos{File: "--variant " + name}, Msg: msg})
			}
		}
		variants = picked
	}
	if len(errs) > 0 {
		return nil, errs
	}
	var runs []Run
	seen := map[string]bool{}
	for _, v := range variants {
		var list []override
		if opts.Short {
			list = append(list, d.base.Short.entries...)
		}
		list = append(list, v.Set.entries...)
		list = append(list, sets...)
		s, verrs := d.resolve(list)
		for _, e := range verrs {
			if key := e.Error(); !seen[key] {
				seen[key] = true
				errs = append(errs, e)
			}
		}
		if len(verrs) == 0 {
			runs = append(runs, Run{Name: v.Name, Description: v.Description, Scenario: s})
		}
	}
	if len(errs) > 0 {
		return nil, errs.sorted()
	}
	return runs, nil
}

// resolve applies overrides to a copy of the tree and decodes, finishes
// and validates the result.
func (d *Document) resolve(list []override) (*Scenario, Errors) {
	root := d.root.clone()
	var errs Errors
	for _, o := range list {
		if err := set(root, o.path, o.value.clone(), o.pos); err != nil {
			errs = append(errs, &FieldError{Pos: o.pos, Path: o.path, Msg: err.Error()})
		}
	}
	dec := newDecoder()
	s := &Scenario{}
	dec.decode(root, reflectValue(s), "")
	if errs = append(errs, dec.errs...); len(errs) > 0 {
		return nil, errs
	}
	c := &checker{pos: dec.pos, root: root.pos}
	s.finish(c, d.dir)
	s.validate(c)
	if len(c.errs) > 0 {
		dec.redact(c.errs)
		return nil, c.errs
	}
	s.Variants, s.Short = nil, Overrides{}
	s.shown = dec.shown
	return s, nil
}

// Builtin is one of the profiles embedded in the binary.
type Builtin struct {
	Name        string // e.g. "surge-recovery"
	Description string // its one-line description
}

// Builtins lists the embedded profiles, sorted by name.
func Builtins() ([]Builtin, error) {
	entries, err := fs.ReadDir(builtinFS, builtinDir)
	if err != nil {
		return nil, fmt.Errorf("list built-in profiles: %w", err)
	}
	var out []Builtin
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".yaml")
		if !ok {
			continue
		}
		doc, err := openBuiltin(name)
		if err != nil {
			return nil, err
		}
		out = append(out, Builtin{Name: name, Description: doc.Description()})
	}
	return out, nil
}

func openBuiltin(name string) (*Document, error) {
	file := path.Join(builtinDir, name+".yaml")
	data, err := builtinFS.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read built-in profile %s: %w", name, err)
	}
	return Parse(file, "", data)
}

// ErrNotFound is returned by Open for a name that is neither a built-in
// profile nor a readable file.
var ErrNotFound = errors.New("no such profile")

// Open parses a built-in profile by name (e.g. "surge-recovery") or a
// profile file by path. A name with a path separator or a .yaml/.yml
// suffix is always a file.
func Open(nameOrPath string) (*Document, error) {
	isFile := strings.ContainsRune(nameOrPath, '/') || strings.ContainsRune(nameOrPath, filepath.Separator) ||
		strings.HasSuffix(nameOrPath, ".yaml") || strings.HasSuffix(nameOrPath, ".yml")
	if !isFile {
		if _, err := fs.Stat(builtinFS, path.Join(builtinDir, nameOrPath+".yaml")); err == nil {
			return openBuiltin(nameOrPath)
		}
		if _, err := os.Stat(nameOrPath); err != nil {
			var names []string
			if list, err := Builtins(); err == nil {
				for _, b := range list {
					names = append(names, b.Name)
				}
			}
			return nil, fmt.Errorf("%w %q: not a built-in profile nor a file; %s", ErrNotFound, nameOrPath, didYouMean(nameOrPath, names))
		}
	}
	data, err := os.ReadFile(nameOrPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: read profile %s: %w", ErrNotFound, nameOrPath, err)
		}
		return nil, fmt.Errorf("read profile %s: %w", nameOrPath, err)
	}
	return Parse(nameOrPath, filepath.Dir(nameOrPath), data)
}

// BuiltinSource returns the YAML text of a built-in profile.
func BuiltinSource(name string) ([]byte, error) {
	data, err := builtinFS.ReadFile(path.Join(builtinDir, name+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("%w %q: not a built-in profile", ErrNotFound, name)
	}
	return data, nil
}
