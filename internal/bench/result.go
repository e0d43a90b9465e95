package bench

import (
	"fmt"
	"math"
	"time"
)

// A Report is the result of Run.
type Report struct {
	Size      string      `json:"size"` // "full", "quick" or "tiny"
	Machine   Machine     `json:"machine"`
	Started   time.Time   `json:"started"`
	Seconds   float64     `json:"seconds"` // wall time of the whole run
	Scenarios []*Scenario `json:"scenarios"`
}

// Machine describes where the report was made.
type Machine struct {
	Kernel     string `json:"kernel"`
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"go_version"`
	LoadAvg    string `json:"loadavg"` // /proc/loadavg when the run started
	THP        string `json:"thp"`     // transparent_hugepage/enabled
}

// A Scenario is what one of S1…S7 measured.
type Scenario struct {
	ID      string   `json:"id"`     // "S1"
	Name    string   `json:"name"`   // "latency"
	Title   string   `json:"title"`  // one line
	Method  string   `json:"method"` // how the numbers were taken
	Results []Result `json:"results"`
	Ratios  []Ratio  `json:"ratios"`
	Notes   []string `json:"notes,omitempty"`
	Error   string   `json:"error,omitempty"` // why the scenario stopped early, if it did
	Seconds float64  `json:"seconds"`
}

// Failed returns the scenarios that stopped early.
func (r *Report) Failed() []*Scenario {
	var failed []*Scenario
	for _, s := range r.Scenarios {
		if s.Error != "" {
			failed = append(failed, s)
		}
	}
	return failed
}

// A Result is the median of one implementation's samples in one row of a
// scenario (a target, a number of goroutines, a heap size...).
type Result struct {
	Row     string    `json:"row"`
	Impl    string    `json:"impl"`
	Value   float64   `json:"value"` // the median of Samples; 0 if Error
	Unit    string    `json:"unit"`  // "ns/op", "procs/s", "threads", "allocs/op", "B/op", "ns"
	Samples []float64 `json:"samples,omitempty"`
	Spread  float64   `json:"spread"`          // see Spread
	Error   string    `json:"error,omitempty"` // e.g. "crashed: thread limit"
}

// A Ratio compares two results of the same run, or checks one against a
// target.
type Ratio struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`   // "×" for a ratio, else the unit of an absolute check
	Better string  `json:"better"` // "higher" or "lower"
	// Target is the goal, as "≥ 1.3", "≤ 1.1" or "< 1"; empty if none.
	Target string `json:"target,omitempty"`
	Met    *bool  `json:"met,omitempty"` // nil if no target or no value
	Chart  bool   `json:"chart"`         // drawn in the SVG chart
	Error  string `json:"error,omitempty"`
}

// Scenario returns the scenario named name or with ID id, or nil.
func (r *Report) Scenario(name string) *Scenario {
	for _, s := range r.Scenarios {
		if s.Name == name || s.ID == name {
			return s
		}
	}
	return nil
}

// Result returns the result for row and impl, or nil.
func (s *Scenario) Result(row, impl string) *Result {
	for i := range s.Results {
		if s.Results[i].Row == row && s.Results[i].Impl == impl {
			return &s.Results[i]
		}
	}
	return nil
}

func (s *Scenario) add(row, impl, unit string, samples []float64) *Result {
	r := Result{Row: row, Impl: impl, Unit: unit, Samples: samples, Spread: Spread(samples)}
	if len(samples) > 0 {
		r.Value = Median(samples)
	}
	s.Results = append(s.Results, r)
	return &s.Results[len(s.Results)-1]
}

func (s *Scenario) addError(row, impl, unit string, err error) {
	s.Results = append(s.Results, Result{Row: row, Impl: impl, Unit: unit, Error: err.Error()})
}

// value returns the median of a result, or NaN if it is missing or failed.
func (s *Scenario) value(row, impl string) float64 {
	r := s.Result(row, impl)
	if r == nil || r.Error != "" || len(r.Samples) == 0 {
		return math.NaN()
	}
	return r.Value
}

// pairedRatio adds the ratio of two results measured in the same
// alternating rounds: the median of the per-round ratios num[i]/den[i],
// which a slow drift of the machine affects less than the ratio of the
// medians. It falls back to the ratio of the medians if the rounds do not
// pair up.
func (s *Scenario) pairedRatio(name string, numRow, numImpl, denRow, denImpl, better, target string, chart bool) {
	num, den := s.Result(numRow, numImpl), s.Result(denRow, denImpl)
	if num == nil || den == nil || num.Error != "" || den.Error != "" ||
		len(num.Samples) != len(den.Samples) || len(num.Samples) < 2 {
		s.ratio(name, s.value(numRow, numImpl), s.value(denRow, denImpl), better, target, chart)
		return
	}
	rs := make([]float64, len(num.Samples))
	for i := range rs {
		rs[i] = num.Samples[i] / den.Samples[i]
	}
	s.check(name, Median(rs), "×", better, target, chart)
}

// ratio adds the ratio num/den, with an optional target such as "≥ 1.3".
func (s *Scenario) ratio(name string, num, den float64, better, target string, chart bool) {
	s.check(name, num/den, "×", better, target, chart)
}

// check adds an absolute value with an optional target.
func (s *Scenario) check(name string, v float64, unit, better, target string, chart bool) {
	r := Ratio{Name: name, Value: v, Unit: unit, Better: better, Target: target, Chart: chart}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		r.Value = 0
		r.Error = "not measured"
	} else if target != "" {
		met := meets(v, target)
		r.Met = &met
	}
	s.Ratios = append(s.Ratios, r)
}

// meets reports whether v meets a target such as "≥ 1.3".
func meets(v float64, target string) bool {
	var op string
	var t float64
	if _, err := fmt.Sscanf(target, "%s %g", &op, &t); err != nil {
		return false
	}
	switch op {
	case "≥":
		return v >= t
	case "≤":
		return v <= t
	case "<":
		return v < t
	case ">":
		return v > t
	}
	return false
}
