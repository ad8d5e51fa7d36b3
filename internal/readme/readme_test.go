// Package readme keeps README.md honest: every Go snippet in it must be a
// region of a file that the build compiles, marked
//
//	// readme:begin name
//	...
//	// readme:end
//
// The snippets live in this folder's subpackages (and, for integrations
// with dependencies of their own, in their modules). A snippet edited in
// one place only, or a region no longer shown, fails the test.
package readme

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var fence = regexp.MustCompile("(?ms)^```go\n(.*?)^```\n")

func TestSnippetsCompile(t *testing.T) {
	root := filepath.Join("..", "..")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	regions := map[string]string{} // text → where
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for name, text := range markedRegions(t, path, string(src)) {
			regions[text] = path + ": " + name
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	blocks := fence.FindAllStringSubmatch(string(readme), -1)
	if len(blocks) < 5 {
		t.Fatalf("found %d Go snippets in README.md", len(blocks))
	}
	for _, m := range blocks {
		where, ok := regions[m[1]]
		if !ok {
			t.Errorf("README snippet is not a compiled region:\n%s", m[1])
			continue
		}
		used[where] = true
	}
	for _, where := range regions {
		if !used[where] {
			t.Errorf("region %s is not shown in README.md", where)
		}
	}
}

// markedRegions returns the regions of src, dedented by the indentation of
// their begin marker.
func markedRegions(t *testing.T, path, src string) map[string]string {
	out := map[string]string{}
	lines := strings.SplitAfter(src, "\n")
	for i := 0; i < len(lines); i++ {
		indent, name, ok := strings.Cut(lines[i], "// readme:begin ")
		if !ok || strings.TrimSpace(indent) != "" {
			continue
		}
		var b strings.Builder
		j := i + 1
		for ; j < len(lines) && strings.TrimSpace(lines[j]) != "// readme:end"; j++ {
			line := lines[j]
			if strings.TrimSpace(line) != "" && !strings.HasPrefix(line, indent) {
				t.Errorf("%s:%d: line less indented than its begin marker", path, j+1)
			}
			b.WriteString(strings.TrimPrefix(line, indent))
		}
		if j == len(lines) {
			t.Errorf("%s:%d: region %s has no end", path, i+1, strings.TrimSpace(name))
		}
		out[strings.TrimSpace(name)] = b.String()
		i = j
	}
	return out
}
