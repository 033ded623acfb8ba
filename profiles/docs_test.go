package profiles

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/goodput-dev/goodput/faults"
	"github.com/stretchr/testify/assert"
)

// The field reference in docs/profiles.md is generated from the schema
// types and their doc comments, between these markers; TestDocsUpToDate
// fails when it drifts (refresh with -update).
const (
	docsPath  = "../docs/profiles.md"
	docsBegin = "<!-- BEGIN GENERATED FIELD REFERENCE (go test ./profiles -run TestDocsUpToDate -update) -->"
	docsEnd   = "<!-- END GENERATED FIELD REFERENCE -->"
)

// sourceDocs reads the doc comments of the package's types and their
// fields from its source files.
func sourceDocs(t *testing.T) (types map[string]string, fields map[string]map[string]string) {
	t.Helper()
	fset := token.NewFileSet()
	types, fields = map[string]string{}, map[string]map[string]string{}
	// The schema's own types, and the shared value types it uses (package
	// dist); their type names do not collide.
	var files []string
	for _, dir := range []string{".", "../dist"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".go") && !strings.HasSuffix(e.Name(), "_test.go") {
				files = append(files, filepath.Join(dir, e.Name()))
			}
		}
	}
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				doc := gd.Doc
				if ts.Doc != nil {
					doc = ts.Doc
				}
				types[ts.Name.Name] = doc.Text()
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				fields[ts.Name.Name] = map[string]string{}
				for _, fl := range st.Fields.List {
					for _, n := range fl.Names {
						fields[ts.Name.Name][n.Name] = fl.Doc.Text()
					}
				}
			}
		}
	}
	return types, fields
}

// oneLine joins a comment's lines into one paragraph.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// typeSyntax describes how a field of type t is written.
func typeSyntax(t reflect.Type, sections map[reflect.Type]string) string {
	if t == durationType || t == distDuration {
		return "duration (`250ms`, `2s`)"
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s, ok := reflect.New(t).Interface().(scalar); ok {
		return s.syntax()
	}
	switch t {
	case reflect.TypeFor[Raw]():
		return "mapping (the target's configuration)"
	case reflect.TypeFor[Overrides]():
		return "mapping of `path: value`"
	}
	switch t.Kind() {
	case reflect.Struct:
		return fmt.Sprintf("mapping, see [`%s`](#%s)", sections[t], anchor(sections[t]))
	case reflect.Slice:
		return "list of " + typeSyntax(t.Elem(), sections)
	case reflect.Map:
		return "mapping of name to " + typeSyntax(t.Elem(), sections)
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64, reflect.Uint64:
		return "integer"
	case reflect.Float64:
		return "number"
	}
	return t.String()
}

func anchor(section string) string {
	return strings.NewReplacer(".", "", "[", "", "]", "", "_", "_").Replace(section)
}

// generateDocs renders the field reference of every section reachable
// from Scenario, in the order they are reached.
func generateDocs(t *testing.T) string {
	typeDocs, fieldDocs := sourceDocs(t)
	sections := map[reflect.Type]string{typeOfScenario: "(top level)"}
	order := []reflect.Type{typeOfScenario}
	var b strings.Builder
	for i := 0; i < len(order); i++ {
		st := order[i]
		prefix := sections[st]
		if prefix == "(top level)" {
			prefix = ""
		}
		// Name the sections this one leads to before rendering it.
		for j := range st.NumField() {
			f := st.Field(j)
			name := fieldName(f)
			ft := f.Type
			suffix := ""
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				if ft.Kind() == reflect.Slice {
					suffix = "[]"
				}
				ft = ft.Elem()
			}
			if name == "" || ft.Kind() != reflect.Struct || ft == durationType || ft == distDuration {
				continue
			}
			if _, isScalar := reflect.New(ft).Interface().(scalar); isScalar {
				continue
			}
			if _, isNode := reflect.New(ft).Interface().(nodeDecoder); isNode {
				continue
			}
			if _, seen := sections[ft]; !seen {
				sections[ft] = join(prefix, name) + suffix
				order = append(order, ft)
			}
		}
		fmt.Fprintf(&b, "### `%s`\n\n", sections[st])
		b.WriteString(userDoc(typeDocs[st.Name()]))
		b.WriteString("| field | type | meaning |\n| --- | --- | --- |\n")
		for j := range st.NumField() {
			f := st.Field(j)
			name := fieldName(f)
			if name == "" {
				continue
			}
			doc := oneLine(fieldDocs[st.Name()][f.Name])
			if doc == "" {
				t.Errorf("%s.%s has no doc comment", st.Name(), f.Name)
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", name, strings.ReplaceAll(typeSyntax(f.Type, sections), "|", "\\|"), strings.ReplaceAll(doc, "|", "\\|"))
		}
		b.WriteString("\n")
	}
	b.WriteString(faultKindsDoc())
	list, err := Builtins()
	if err != nil {
		t.Fatal(err)
	}
	b.WriteString("### Built-in profiles\n\n| name | what it shows |\n| --- | --- |\n")
	for _, p := range list {
		fmt.Fprintf(&b, "| `%s` | %s |\n", p.Name, p.Description)
	}
	return b.String()
}

func TestDocsUpToDate(t *testing.T) {
	data, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	i, j := strings.Index(doc, docsBegin), strings.Index(doc, docsEnd)
	if i < 0 || j < i {
		t.Fatalf("%s: markers %q … %q not found", docsPath, docsBegin, docsEnd)
	}
	want := doc[:i+len(docsBegin)] + "\n\n" + generateDocs(t) + doc[j:]
	if want == doc {
		return
	}
	if *update {
		if err := os.WriteFile(docsPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is out of date with the schema; run go test ./profiles -run TestDocsUpToDate -update", docsPath)
}

// TestDocsMentionEveryField guards the generator itself: every yaml field
// of every schema type appears in the generated reference.
func TestDocsMentionEveryField(t *testing.T) {
	gen := generateDocs(t)
	for _, typ := range []reflect.Type{typeOfScenario, reflect.TypeFor[Client](), reflect.TypeFor[Fault](), reflect.TypeFor[Phase](), reflect.TypeFor[Recovery]()} {
		for _, name := range fieldNames(typ) {
			if !strings.Contains(gen, "| `"+name+"` |") {
				t.Errorf("field %s.%s missing from the reference", typ.Name(), name)
			}
		}
	}
}

// userDoc returns a type's doc comment for users: without the paragraphs
// meant for Go callers (concurrency, zero value).
func userDoc(doc string) string {
	var out []string
	for _, para := range strings.Split(strings.TrimSpace(doc), "\n\n") {
		if strings.Contains(para, "concurrent") || strings.Contains(para, "zero value") {
			continue
		}
		out = append(out, para)
	}
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, "\n\n") + "\n\n"
}

// faultKindsDoc renders the table of fault kinds from package faults'
// registry.
func faultKindsDoc() string {
	var b strings.Builder
	b.WriteString("### Fault kinds\n\n| kind | fields | acts on | what it does |\n| --- | --- | --- | --- |\n")
	for _, k := range faults.Registry() {
		fields := "—"
		if f := k.Fields(); len(f) > 0 {
			fields = "`" + strings.Join(f, "`, `") + "`"
		}
		on := make([]string, len(k.On))
		for i, p := range k.On {
			on[i] = string(p)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", k.Name(), fields, strings.Join(on, ", "), strings.ReplaceAll(k.Doc, "|", "\\|"))
	}
	b.WriteString("\n")
	return b.String()
}

// The schema's fault kinds and kind fields are exactly the registry's.
func TestFaultSchemaIsTheRegistrys(t *testing.T) {
	assert.Equal(t, faults.Kinds(), FaultKind("").values())
	kindFields := map[string]bool{}
	for _, k := range faults.Registry() {
		for _, f := range k.Fields() {
			kindFields[f] = true
		}
	}
	entry := []string{"name", "kind", "target", "at", "for", "probability", "route", "method", "header"}
	var schemaKindFields []string
	for _, name := range fieldNames(reflect.TypeFor[Fault]()) {
		if !slices.Contains(entry, name) {
			schemaKindFields = append(schemaKindFields, name)
		}
	}
	assert.ElementsMatch(t, slices.Collect(maps.Keys(kindFields)), schemaKindFields, "the schema's kind fields are the registry's")
	gen := generateDocs(t)
	for _, k := range faults.Kinds() {
		assert.Contains(t, gen, "| `"+k+"` |", "docs list kind %s", k)
	}
}
