package bench

import (
	"math"
	"slices"
)

// Median returns the median of xs, NaN if xs is empty.
func Median(xs []float64) float64 {
	return Percentile(xs, 50)
}

// Percentile returns the p-th percentile of xs (0 ≤ p ≤ 100), linearly
// interpolated between the closest ranks; NaN if xs is empty.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return sortedPercentile(s, p)
}

func sortedPercentile(s []float64, p float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	r := p / 100 * float64(len(s)-1)
	lo := int(math.Floor(r))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (s[hi]-s[lo])*(r-float64(lo))
}

// Spread is the half-range of xs relative to its median: 0.05 means the
// samples lie within about ±5% of the median.
func Spread(xs []float64) float64 {
	m := Median(xs)
	if len(xs) < 2 || m == 0 || math.IsNaN(m) {
		return 0
	}
	return (slices.Max(xs) - slices.Min(xs)) / 2 / math.Abs(m)
}
