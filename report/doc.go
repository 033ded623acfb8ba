// Package report turns results streams (package results) into what a user
// decides on: summaries, windows, recovery time, tipping points,
// comparisons and assertions, rendered as text, JSON, CSV, HTML, JUnit and
// HdrHistogram formats.
//
// report reads records, whoever wrote them; of this module it imports only
// package results.
package report
