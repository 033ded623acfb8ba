package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"time"
)

// junitSuites is the root of a JUnit XML report, as CI systems read it.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnitSuite names a JUnit report: the suite (typically the run's or
// scenario's label), when the run started and how long it took.
type JUnitSuite struct {
	Name     string
	Start    time.Time // zero: no timestamp attribute
	Duration time.Duration
}

// WriteJUnit writes the verdicts as JUnit XML: one test case per
// assertion, named by the assertion as written, failing with its message
// (which carries the actual value). CI systems show them as tests.
func WriteJUnit(w io.Writer, suite JUnitSuite, vs []Verdict) error {
	name := suite.Name
	if name == "" {
		name = "goodput"
	}
	secs := strconv.FormatFloat(suite.Duration.Seconds(), 'f', 3, 64)
	s := junitSuite{Name: name, Tests: len(vs), Failures: Failed(vs), Time: secs}
	if !suite.Start.IsZero() {
		s.Timestamp = suite.Start.UTC().Format("2006-01-02T15:04:05")
	}
	for _, v := range vs {
		c := junitCase{Name: v.Assertion.Expr, Classname: "goodput.assert." + name, Time: "0", SystemOut: v.Message}
		if !v.Pass {
			kind := "assertion"
			if !v.Measured {
				kind = "not_measured"
			}
			c.Failure = &junitFailure{Message: v.Message, Type: kind, Text: v.Message}
		}
		s.Cases = append(s.Cases, c)
	}
	root := junitSuites{Name: "goodput", Tests: s.Tests, Failures: s.Failures, Time: secs, Suites: []junitSuite{s}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(root); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}
