// Command peertable reads `go test -bench` output of the peer comparison,
// from the files named on the command line or from standard input, and
// prints a markdown table: for every algorithm and library the median
// time, bytes and allocations per operation across all rounds, how far the
// slowest or fastest round strayed from the median time, and the ratio of
// the median time to the median time of the floor of the same algorithm.
//
// Benchmark names must carry alg=… and lib=… elements, as in
// BenchmarkVerify/alg=RS256/lib=jwx-2; other lines are ignored.
package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// floorLib names the library every other one is divided by.
const floorLib = "floor"

// key identifies one benchmark across rounds.
type key struct{ alg, lib string }

// samples holds the results of one benchmark, one entry per round.
type samples struct {
	nsPerOp, bytesPerOp, allocsPerOp []float64
}

// results keeps benchmarks in the order they first appeared.
type results struct {
	algs, libs []string
	byKey      map[key]*samples
}

func main() {
	r := &results{byKey: map[key]*samples{}}
	if len(os.Args) == 1 {
		if err := r.read(os.Stdin); err != nil {
			fail(err)
		}
	}
	for _, name := range os.Args[1:] {
		f, err := os.Open(name)
		if err != nil {
			fail(err)
		}
		err = r.read(f)
		f.Close()
		if err != nil {
			fail(fmt.Errorf("%s: %w", name, err))
		}
	}
	if len(r.byKey) == 0 {
		fail(fmt.Errorf("no alg=…/lib=… benchmark results found"))
	}
	if err := r.write(os.Stdout); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "peertable:", err)
	os.Exit(1)
}

// read adds the benchmark lines of in to r.
func (r *results) read(in io.Reader) error {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		k, s, ok := parseLine(sc.Text())
		if !ok {
			continue
		}
		if !slices.Contains(r.algs, k.alg) {
			r.algs = append(r.algs, k.alg)
		}
		if !slices.Contains(r.libs, k.lib) {
			r.libs = append(r.libs, k.lib)
		}
		acc := r.byKey[k]
		if acc == nil {
			acc = &samples{}
			r.byKey[k] = acc
		}
		acc.nsPerOp = append(acc.nsPerOp, s.ns)
		acc.bytesPerOp = append(acc.bytesPerOp, s.bytes)
		acc.allocsPerOp = append(acc.allocsPerOp, s.allocs)
	}
	return sc.Err()
}

type measurement struct{ ns, bytes, allocs float64 }

// parseLine reads a line such as
//
//	BenchmarkVerify/alg=RS256/lib=jwx-2   4596   71127 ns/op   15832 B/op   281 allocs/op
//
// and reports false for anything else, including lines without -benchmem
// figures.
func parseLine(line string) (key, measurement, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
		return key{}, measurement{}, false
	}
	var k key
	for _, part := range strings.Split(trimProcs(f[0]), "/") {
		if v, ok := strings.CutPrefix(part, "alg="); ok {
			k.alg = v
		}
		if v, ok := strings.CutPrefix(part, "lib="); ok {
			k.lib = v
		}
	}
	if k.alg == "" || k.lib == "" {
		return key{}, measurement{}, false
	}
	var m measurement
	found := 0
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return key{}, measurement{}, false
		}
		switch f[i+1] {
		case "ns/op":
			m.ns = v
		case "B/op":
			m.bytes = v
		case "allocs/op":
			m.allocs = v
		default:
			continue
		}
		found++
	}
	if found != 3 {
		return key{}, measurement{}, false
	}
	return k, m, true
}

// trimProcs removes the -GOMAXPROCS suffix that go test appends to a
// benchmark name.
func trimProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return name
	}
	if _, err := strconv.Atoi(name[i+1:]); err != nil {
		return name
	}
	return name[:i]
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// write prints the table, algorithms in the order they ran and libraries
// in the order they ran within each.
func (r *results) write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "| alg | library | time/op | spread | × floor | allocs/op | B/op | runs |")
	fmt.Fprintln(bw, "|---|---|--:|--:|--:|--:|--:|--:|")
	for _, alg := range r.algs {
		floorNs := 0.0
		if s := r.byKey[key{alg, floorLib}]; s != nil {
			floorNs = median(s.nsPerOp)
		}
		for _, lib := range r.libs {
			s := r.byKey[key{alg, lib}]
			if s == nil {
				continue
			}
			ns := median(s.nsPerOp)
			ratio := "–"
			if floorNs > 0 {
				ratio = formatRatio(ns / floorNs)
			}
			fmt.Fprintf(bw, "| %s | %s | %s | ±%.0f%% | %s | %s | %s | %d |\n",
				alg, lib, formatTime(ns), 100*spread(s.nsPerOp, ns), ratio,
				strconv.FormatFloat(median(s.allocsPerOp), 'f', -1, 64),
				strconv.FormatFloat(median(s.bytesPerOp), 'f', 0, 64),
				len(s.nsPerOp))
		}
	}
	return bw.Flush()
}

// spread is the largest distance of a sample from the median m, as a
// fraction of m.
func spread(xs []float64, m float64) float64 {
	if m == 0 {
		return 0
	}
	d := 0.0
	for _, x := range xs {
		d = max(d, math.Abs(x-m))
	}
	return d / m
}

func formatTime(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e4:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	case ns >= 1e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

func formatRatio(x float64) string {
	if x >= 0.1 {
		return fmt.Sprintf("%.2f×", x)
	}
	return fmt.Sprintf("%.4f×", x)
}
