// Command benchplot turns `go test -bench` output into a PNG of each figure
// against its input size, and optionally a Markdown table of the same
// figures. It reads sub-benchmark names of the form
// BenchmarkX/<key>=<number>[/<key>=<value>…]: the first part whose value
// is a number is the input (the x axis), the other parts name the series.
// Each selected metric of each benchmark is one panel. It uses only the
// standard library (image/png and a built-in 3×5 pixel font).
//
//	benchplot -o docs/scale.png -metrics ready-s,sync-run-s,rss-MB bench.txt…
//	benchplot -table -metrics ready-s,revisions-median bench.txt
//	benchplot -o sync.png before=old.txt after=new.txt
//
// A file given as label=path prefixes the series of its lines with label,
// to compare runs of the same benchmarks.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

func main() {
	out := flag.String("o", "scale.png", "PNG file to write")
	metrics := flag.String("metrics", "ready-s,revisions-median,sync-run-s,start-to-sync-s,rss-MB,hwm-MB,p50-ms,p99-ms", "comma-separated metrics (units of the benchmark lines) to draw")
	table := flag.Bool("table", false, "print a Markdown table of the metrics to stdout instead of drawing")
	flag.Parse()
	if err := run(flag.Args(), *out, strings.Split(*metrics, ","), *table); err != nil {
		fmt.Fprintln(os.Stderr, "benchplot:", err)
		os.Exit(1)
	}
}

func run(files []string, out string, metrics []string, table bool) error {
	var results []result
	if len(files) == 0 {
		r, err := parse(os.Stdin)
		if err != nil {
			return err
		}
		results = r
	}
	for _, arg := range files {
		label, name, labelled := strings.Cut(arg, "=")
		if !labelled {
			label, name = "", arg
		}
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		r, err := parse(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		for i := range r {
			if label != "" {
				r[i].series = strings.TrimSuffix(label+"/"+r[i].series, "/")
			}
		}
		results = append(results, r...)
	}
	panels := group(results, metrics)
	if len(panels) == 0 {
		return errors.New("no benchmark line has a numeric input (key=number) and one of the metrics")
	}
	if table {
		return writeTable(os.Stdout, panels)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := png.Encode(f, draw(panels)); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", out, err)
	}
	return f.Close()
}

// result is one benchmark line: its input size, series name and metrics.
type result struct {
	bench  string // BenchmarkX
	xName  string // the input's key, "objects"
	x      float64
	series string // the other parts, "variant=plain"; "" if none
	values map[string]float64
}

// parse reads benchmark lines ("BenchmarkX/a=1-2  1  0 ns/op  1.5 ready-s …")
// and keeps those with a numeric input. A later line for the same
// benchmark, input and series replaces an earlier one.
func parse(r io.Reader) ([]result, error) {
	var out []result
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		res, ok := parseName(f[0])
		if !ok {
			continue
		}
		res.values = map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				res.values[f[i+1]] = v
			}
		}
		out = slices.DeleteFunc(out, func(o result) bool {
			return o.bench == res.bench && o.x == res.x && o.series == res.series
		})
		out = append(out, res)
	}
	return out, s.Err()
}

// parseName splits "BenchmarkX/modules=50/variant=plain-2".
func parseName(name string) (result, bool) {
	// The -N suffix is GOMAXPROCS.
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	parts := strings.Split(name, "/")
	res := result{bench: parts[0]}
	var series []string
	found := false
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, "=")
		if x, err := strconv.ParseFloat(v, 64); ok && err == nil && !found {
			res.xName, res.x, found = k, x, true
			continue
		}
		series = append(series, p)
	}
	res.series = strings.Join(series, "/")
	return res, found
}

// panel is one figure of one benchmark against its input.
type panel struct {
	bench, metric, xName string
	series               []string // sorted
	points               map[string][][2]float64
}

func group(results []result, metrics []string) []panel {
	var out []panel
	var benches []string
	for _, r := range results {
		if !slices.Contains(benches, r.bench) {
			benches = append(benches, r.bench)
		}
	}
	for _, b := range benches {
		for _, m := range metrics {
			p := panel{bench: b, metric: m, points: map[string][][2]float64{}}
			for _, r := range results {
				v, ok := r.values[m]
				if r.bench != b || !ok || math.IsNaN(v) {
					continue
				}
				p.xName = r.xName
				if _, seen := p.points[r.series]; !seen {
					p.series = append(p.series, r.series)
				}
				p.points[r.series] = append(p.points[r.series], [2]float64{r.x, v})
			}
			if len(p.series) == 0 {
				continue
			}
			slices.Sort(p.series)
			for _, s := range p.series {
				slices.SortFunc(p.points[s], func(a, b [2]float64) int { return int(math.Copysign(1, a[0]-b[0])) })
			}
			out = append(out, p)
		}
	}
	return out
}

func writeTable(w io.Writer, panels []panel) error {
	for _, p := range panels {
		fmt.Fprintf(w, "\n%s %s\n\n| %s | %s |\n|---|%s\n", p.bench, p.metric, p.xName, strings.Join(seriesNames(p), " | "), strings.Repeat("---|", len(p.series)))
		var xs []float64
		for _, s := range p.series {
			for _, pt := range p.points[s] {
				if !slices.Contains(xs, pt[0]) {
					xs = append(xs, pt[0])
				}
			}
		}
		slices.Sort(xs)
		for _, x := range xs {
			row := []string{format(x)}
			for _, s := range p.series {
				cell := "—"
				for _, pt := range p.points[s] {
					if pt[0] == x {
						cell = format(pt[1])
					}
				}
				row = append(row, cell)
			}
			if _, err := fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | ")); err != nil {
				return err
			}
		}
	}
	return nil
}

func seriesNames(p panel) []string {
	names := make([]string, len(p.series))
	for i, s := range p.series {
		names[i] = s
		if s == "" {
			names[i] = p.metric
		}
	}
	return names
}

func format(v float64) string {
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e7:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// Layout of the PNG: panels of panelW×panelH in columns.
const (
	panelW, panelH = 420, 280
	columns        = 3
	marginL        = 56
	marginR        = 16
	marginT        = 40
	marginB        = 36
	scale          = 2 // font pixels per glyph pixel
)

var (
	white   = color.RGBA{255, 255, 255, 255}
	black   = color.RGBA{0, 0, 0, 255}
	grey    = color.RGBA{200, 200, 200, 255}
	palette = []color.RGBA{{31, 119, 180, 255}, {214, 39, 40, 255}, {44, 160, 44, 255}, {148, 103, 189, 255}, {255, 127, 14, 255}}
)

func draw(panels []panel) *image.RGBA {
	rows := (len(panels) + columns - 1) / columns
	img := image.NewRGBA(image.Rect(0, 0, columns*panelW, rows*panelH))
	fill(img, img.Bounds(), white)
	for i, p := range panels {
		drawPanel(img, image.Pt((i%columns)*panelW, (i/columns)*panelH), p)
	}
	return img
}

func drawPanel(img *image.RGBA, at image.Point, p panel) {
	text(img, at.X+8, at.Y+6, strings.TrimPrefix(p.bench, "Benchmark"), black)
	text(img, at.X+8, at.Y+20, p.metric+" vs "+p.xName, black)
	plot := image.Rect(at.X+marginL, at.Y+marginT, at.X+panelW-marginR, at.Y+panelH-marginB)
	var xs []float64
	yMax := 0.0
	for _, s := range p.series {
		for _, pt := range p.points[s] {
			if !slices.Contains(xs, pt[0]) {
				xs = append(xs, pt[0])
			}
			yMax = math.Max(yMax, pt[1])
		}
	}
	slices.Sort(xs)
	yMax = niceCeil(yMax)
	xMin, xMax := 0.0, xs[len(xs)-1]
	px := func(x float64) int {
		return plot.Min.X + int(math.Round((x-xMin)/(xMax-xMin)*float64(plot.Dx())))
	}
	py := func(y float64) int {
		return plot.Max.Y - int(math.Round(y/yMax*float64(plot.Dy())))
	}
	// Grid lines and ticks: y at quarters, x at each input size.
	for i := 0; i <= 4; i++ {
		y := yMax * float64(i) / 4
		line(img, plot.Min.X, py(y), plot.Max.X, py(y), grey)
		label := format(y)
		text(img, plot.Min.X-6-textWidth(label), py(y)-5, label, black)
	}
	for _, x := range xs {
		line(img, px(x), plot.Min.Y, px(x), plot.Max.Y, grey)
		label := format(x)
		lx := min(px(x)-textWidth(label)/2, at.X+panelW-2-textWidth(label))
		text(img, lx, plot.Max.Y+6, label, black)
	}
	line(img, plot.Min.X, plot.Max.Y, plot.Max.X, plot.Max.Y, black)
	line(img, plot.Min.X, plot.Min.Y, plot.Min.X, plot.Max.Y, black)
	text(img, plot.Max.X-textWidth(p.xName), plot.Max.Y+20, p.xName, black)
	for i, s := range p.series {
		c := palette[i%len(palette)]
		pts := p.points[s]
		for j, pt := range pts {
			x, y := px(pt[0]), py(pt[1])
			fill(img, image.Rect(x-3, y-3, x+4, y+4), c)
			if j > 0 {
				line(img, px(pts[j-1][0]), py(pts[j-1][1]), x, y, c)
			}
		}
		if s != "" {
			ly := plot.Min.Y + 4 + i*14
			fill(img, image.Rect(plot.Min.X+8, ly+2, plot.Min.X+16, ly+8), c)
			text(img, plot.Min.X+20, ly, s, c)
		}
	}
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

// line draws a 2-pixel line from (x0, y0) to (x1, y1).
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	steps := max(abs(x1-x0), abs(y1-y0), 1)
	for i := 0; i <= steps; i++ {
		x := x0 + (x1-x0)*i/steps
		y := y0 + (y1-y0)*i/steps
		fill(img, image.Rect(x, y, x+2, y+2), c)
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func textWidth(s string) int { return len(s) * 4 * scale }

// text draws s with the 3×5 font, scale pixels per font pixel, its top
// left corner at (x, y). Characters without a glyph are left blank.
func text(img *image.RGBA, x, y int, s string, c color.RGBA) {
	for _, r := range strings.ToLower(s) {
		g := glyphs[r]
		for row := 0; row < 5 && len(g) == 15; row++ {
			for col := 0; col < 3; col++ {
				if g[row*3+col] == '#' {
					fill(img, image.Rect(x+col*scale, y+row*scale, x+(col+1)*scale, y+(row+1)*scale), c)
				}
			}
		}
		x += 4 * scale
	}
}

// glyphs is a 3×5 font: five rows of three pixels, '#' set.
var glyphs = map[rune]string{
	'0': "####.##.##.####", '1': ".#.##..#..#.###", '2': "###..#####..###", '3': "###..####..####",
	'4': "#.##.####..#..#", '5': "####..###..####", '6': "####..####.####", '7': "###..#..#..#..#",
	'8': "####.#####.####", '9': "####.####..####",
	'a': ".#.#.#####.##.#", 'b': "##.#.###.#.###.", 'c': ".###..#..#...##", 'd': "##.#.##.##.###.",
	'e': "####..####..###", 'f': "####..##.#..#..", 'g': ".###..#.##.#.##", 'h': "#.##.#####.##.#",
	'i': "###.#..#..#.###", 'j': "..#..#..##.#.#.", 'k': "#.##.###.#.##.#", 'l': "#..#..#..#..###",
	'm': "#.#####.##.##.#", 'n': "##.#.##.##.##.#", 'o': ".#.#.##.##.#.#.", 'p': "##.#.###.#..#..",
	'q': ".#.#.##.##.#.##", 'r': "##.#.###.#.##.#", 's': ".###...#...###.", 't': "###.#..#..#..#.",
	'u': "#.##.##.##.####", 'v': "#.##.##.##.#.#.", 'w': "#.##.########.#", 'x': "#.##.#.#.#.##.#",
	'y': "#.##.#.#..#..#.", 'z': "###..#.#.#..###",
	'.': "............#..", '-': "......###......", '=': "...###...###...", '/': "..#..#.#..#..#.",
	'%': "#.#..#.#.#..#.#", '(': ".#.#..#..#...#.", ')': ".#...#..#..#.#.", ':': "....#.....#....",
	'_': "............###", ',': "..........#.#..", '>': "#...#...#.#.#..", '≤': "..#.#.#...#.###",
}
