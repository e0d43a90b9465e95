package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// WriteSVG draws the ratios marked Chart as a horizontal bar chart: one
// bar per ratio, grouped by scenario, with a line at 1× and a mark at each
// target. It is plain SVG, with no script and no external resource.
func WriteSVG(w io.Writer, rep *Report) error {
	type row struct {
		header string
		r      Ratio
	}
	var rows []row
	maxV := 2.0
	for _, s := range rep.Scenarios {
		first := true
		for _, r := range s.Ratios {
			if !r.Chart || r.Error != "" {
				continue
			}
			if first {
				rows = append(rows, row{header: s.ID + " " + s.Name + ": " + s.Title})
				first = false
			}
			rows = append(rows, row{r: r})
			maxV = max(maxV, r.Value*1.08)
			if t, ok := targetValue(r.Target); ok {
				maxV = max(maxV, t*1.08)
			}
		}
	}
	// Beyond 4× a bar is cut at the edge and its value says the rest.
	maxV = min(math.Ceil(maxV*2)/2, 4)

	const (
		width   = 900
		labelX  = 440 // right edge of the labels
		barX    = 450
		barW    = 330
		top     = 64
		rowH    = 22
		headerH = 26
	)
	height := top + 76
	for _, r := range rows {
		if r.header != "" {
			height += headerH
		} else {
			height += rowH
		}
	}
	x := func(v float64) float64 { return barX + barW*min(max(v, 0), maxV)/maxV }

	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`, width, height, width, height)
	p(`<rect width="100%%" height="100%%" fill="#ffffff"/>`)
	p(`<text x="16" y="24" font-size="16" font-weight="bold">spawn benchmarks: ratios measured in one run</text>`)
	m := rep.Machine
	p(`<text x="16" y="44" fill="#555">%s</text>`, esc(fmt.Sprintf("%s run, %s: Linux %s, %d CPUs, %s, load %s. Medians of alternating rounds.",
		rep.Size, rep.Started.Format("2006-01-02"), m.Kernel, m.CPUs, m.GoVersion, firstFields(m.LoadAvg, 3))))

	// Grid and scale.
	bottom := height - 66
	for v := 0.0; v <= maxV+1e-9; v += 0.5 {
		p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e0e0e0"/>`, x(v), top-4, x(v), bottom)
		p(`<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%g×</text>`, x(v), bottom+16, v)
	}
	p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#333" stroke-dasharray="4 3"/>`, x(1), top-4, x(1), bottom)

	y := top
	for _, r := range rows {
		if r.header != "" {
			p(`<text x="16" y="%d" font-weight="bold">%s</text>`, y+18, esc(r.header))
			y += headerH
			continue
		}
		label := r.r.Name
		if r.r.Better == "lower" {
			label += " (lower is better)"
		}
		p(`<text x="%d" y="%d" text-anchor="end">%s</text>`, labelX, y+15, esc(label))
		p(`<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`, barX, y+4, x(r.r.Value)-barX, rowH-8, barColor(r.r))
		text := FormatValue(r.r.Value, r.r.Unit)
		if r.r.Value > maxV {
			text = "▸ " + text
		}
		if r.r.Target != "" {
			text += " " + r.r.Mark() + " (target " + r.r.Target + ")"
		}
		p(`<text x="%.1f" y="%d">%s</text>`, x(r.r.Value)+4, y+15, esc(text))
		if t, ok := targetValue(r.r.Target); ok {
			p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000" stroke-width="2"/>`, x(t), y+1, x(t), y+rowH-1)
		}
		y += rowH
	}
	p(`<text x="16" y="%d" fill="#555">%s</text>`, height-28, esc("Right of the dashed 1× line spawn does better, unless the row says lower is better."))
	p(`<text x="16" y="%d" fill="#555">%s</text>`, height-12, esc("Blue: spawn better; orange: spawn worse; green/red: target met/missed (the black mark)."))
	p(`</svg>`)
	_, err := io.WriteString(w, b.String())
	return err
}

func barColor(r Ratio) string {
	switch {
	case r.Met != nil && *r.Met:
		return "#2e7d32"
	case r.Met != nil:
		return "#c62828"
	case (r.Better == "lower") == (r.Value <= 1):
		return "#1565c0"
	}
	return "#ef6c00"
}

// targetValue returns the number in a target such as "≥ 1.3".
func targetValue(target string) (float64, bool) {
	var op string
	var v float64
	if _, err := fmt.Sscanf(target, "%s %g", &op, &v); err != nil {
		return 0, false
	}
	return v, true
}

func esc(s string) string { return html.EscapeString(s) }
