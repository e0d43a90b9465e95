package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"
)

// FormatValue shows a value in its unit: "312 µs", "3120/s", "42 allocs".
func FormatValue(v float64, unit string) string {
	switch unit {
	case "ns/op", "ns":
		return formatNs(v)
	case "procs/s":
		return fmt.Sprintf("%.0f/s", v)
	case "allocs/op":
		return fmt.Sprintf("%.0f", v)
	case "B/op":
		return fmt.Sprintf("%.0f B", v)
	case "×":
		return fmt.Sprintf("%.2f×", v)
	case "ms":
		return fmt.Sprintf("%.3f ms", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func formatNs(ns float64) string {
	switch {
	case ns < 1e3:
		return fmt.Sprintf("%.0f ns", ns)
	case ns < 1e6:
		return sig3(ns/1e3) + " µs"
	case ns < 1e9:
		return sig3(ns/1e6) + " ms"
	}
	return sig3(ns/1e9) + " s"
}

// sig3 shows v with three significant digits (at least the integer part).
func sig3(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// cell shows a result for the table: the median and, if the samples
// spread by 1% or more, how far.
func cell(r *Result) string {
	if r == nil {
		return "-"
	}
	if r.Error != "" {
		msg, _, _ := strings.Cut(r.Error, " (")
		return msg
	}
	s := FormatValue(r.Value, r.Unit)
	if len(r.Samples) > 1 && r.Spread >= 0.005 {
		s += fmt.Sprintf(" ±%.0f%%", 100*r.Spread)
	}
	return s
}

// Mark is ✓ for a met target, ✗ for a missed one, "" without a target.
func (r *Ratio) Mark() string {
	switch {
	case r.Met == nil:
		return ""
	case *r.Met:
		return "✓"
	}
	return "✗"
}

// WriteText writes the report as tables: per scenario, a row per target
// (or size, or number of goroutines) and a column per implementation, then
// the ratios; last, the targets and whether each was met.
func WriteText(w io.Writer, rep *Report) {
	m := rep.Machine
	fmt.Fprintf(w, "spawn bench (%s): Linux %s, %d CPUs, %s, load %s, %.0f s\n",
		rep.Size, m.Kernel, m.CPUs, m.GoVersion, firstFields(m.LoadAvg, 3), rep.Seconds)
	fmt.Fprintln(w, "Medians of alternating rounds; ±N% is the half-range of the rounds.")
	for _, s := range rep.Scenarios {
		fmt.Fprintf(w, "\n%s %s: %s\n", s.ID, s.Name, s.Title)
		for _, line := range wrap(s.Method, 76) {
			fmt.Fprintf(w, "  %s\n", line)
		}
		writeGrid(w, s)
		if len(s.Ratios) > 0 {
			fmt.Fprintln(w)
			writeRatios(w, s.Ratios)
		}
		notes := s.Notes
		if s.Error != "" {
			notes = append(notes[:len(notes):len(notes)], "FAILED: "+s.Error)
		}
		for _, n := range notes {
			for i, line := range wrap(n, 74) {
				if i == 0 {
					fmt.Fprintf(w, "  * %s\n", line)
				} else {
					fmt.Fprintf(w, "    %s\n", line)
				}
			}
		}
	}
	var targets []Ratio
	for _, s := range rep.Scenarios {
		for _, r := range s.Ratios {
			if r.Target != "" {
				r.Name = s.ID + " " + r.Name
				targets = append(targets, r)
			}
		}
	}
	if len(targets) > 0 {
		fmt.Fprintln(w, "\nTargets")
		writeRatios(w, targets)
	}
}

func writeGrid(w io.Writer, s *Scenario) {
	var rows, cols []string
	for _, r := range s.Results {
		if !contains(rows, r.Row) {
			rows = append(rows, r.Row)
		}
		if !contains(cols, r.Impl) {
			cols = append(cols, r.Impl)
		}
	}
	if len(rows) == 0 {
		return
	}
	grid := [][]string{append([]string{""}, cols...)}
	for _, row := range rows {
		line := []string{row}
		for _, col := range cols {
			line = append(line, cell(s.Result(row, col)))
		}
		grid = append(grid, line)
	}
	widths := make([]int, len(grid[0]))
	for _, line := range grid {
		for i, c := range line {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	fmt.Fprintln(w)
	for _, line := range grid {
		var b strings.Builder
		b.WriteString(" ")
		for i, c := range line {
			pad := widths[i] - utf8.RuneCountInString(c)
			if i == 0 {
				b.WriteString(" " + c + strings.Repeat(" ", pad))
			} else {
				b.WriteString("  " + strings.Repeat(" ", pad) + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

func writeRatios(w io.Writer, ratios []Ratio) {
	width := 0
	for _, r := range ratios {
		width = max(width, utf8.RuneCountInString(r.Name))
	}
	for _, r := range ratios {
		v := FormatValue(r.Value, r.Unit)
		if r.Error != "" {
			v = r.Error
		}
		line := fmt.Sprintf("  %s%s  %9s", r.Name, strings.Repeat(" ", width-utf8.RuneCountInString(r.Name)), v)
		if r.Target != "" {
			line += fmt.Sprintf("  target %s %s", r.Target, r.Mark())
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func firstFields(s string, n int) string {
	f := strings.Fields(s)
	return strings.Join(f[:min(n, len(f))], " ")
}

// wrap splits text into lines of at most width runes, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > width:
			lines = append(lines, line)
			line = word
		default:
			line += " " + word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// finite replaces NaN and infinities by 0, for JSON.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
