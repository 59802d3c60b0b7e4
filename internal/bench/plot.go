package bench

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// WriteSVG draws the escape window: per approach, the calls that got
// through (median, p99, max) and the time to exit (median, p99), on log
// scales so that 0 and thousands fit on one picture.
func (r *Report) WriteSVG(w io.Writer) error {
	const (
		width, rowH, left, panelW, gap = 980, 34, 300, 300, 40
	)
	height := 90 + rowH*len(r.Escape)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="14" font-weight="bold">Escape window, %d runs each (Linux %s, %d CPUs)</text>`+"\n",
		r.Runs, r.Machine.Kernel, r.Machine.CPUs)
	panels := []struct {
		title string
		x     float64
		top   float64 // log10 of the axis end
		bars  func(a Approach) [3]float64
	}{
		{"calls returned after the first offending call (log)", left, 4.5,
			func(a Approach) [3]float64 { return [3]float64{a.Escaped.Median, a.Escaped.P99, a.Escaped.Max} }},
		{"first call to exit, µs (log)", left + panelW + gap, 5,
			func(a Approach) [3]float64 {
				return [3]float64{a.LatencyMicros.Median, a.LatencyMicros.P99, a.LatencyMicros.Max}
			}},
	}
	colors := [3]string{"#1f77b4", "#ff7f0e", "#d62728"}
	scale := func(v, top float64) float64 { return panelW * math.Log10(1+v) / top }
	for _, p := range panels {
		fmt.Fprintf(&b, `<text x="%.0f" y="45">%s</text>`+"\n", p.x, p.title)
		for e := 0.0; e <= p.top; e++ {
			x := p.x + scale(math.Pow(10, e)-1, p.top)
			fmt.Fprintf(&b, `<line x1="%.1f" y1="55" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d" fill="#666" font-size="10">%s</text>`+"\n",
				x, x, height-25, x-4, height-12, tick(e))
		}
		for i, a := range r.Escape {
			y := 60 + float64(i*rowH)
			bars := p.bars(a)
			for k, v := range bars {
				fmt.Fprintf(&b, `<rect x="%.0f" y="%.1f" width="%.1f" height="8" fill="%s"><title>%.0f</title></rect>`+"\n",
					p.x, y+float64(k*9), math.Max(scale(v, p.top), 1), colors[k], v)
			}
			// Name the largest value; a bar of 0 is otherwise invisible.
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10">%s</text>`+"\n",
				p.x+scale(bars[2], p.top)+5, y+24, strconv.FormatFloat(bars[2], 'f', 0, 64))
		}
	}
	for i, a := range r.Escape {
		fmt.Fprintf(&b, `<text x="10" y="%d">%s</text>`+"\n", 75+i*rowH, a.Name)
	}
	fmt.Fprintf(&b, `<text x="10" y="%d" fill="#666">bars: <tspan fill="%s">median</tspan>, <tspan fill="%s">p99</tspan>, <tspan fill="%s">max</tspan></text>`+"\n",
		height-12, colors[0], colors[1], colors[2])
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func tick(e float64) string {
	if e == 0 {
		return "0"
	}
	return fmt.Sprintf("1e%.0f", e)
}
