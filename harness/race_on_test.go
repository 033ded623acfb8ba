//go:build race

package harness

// raceDetector reports whether the tests run under the race detector.
const raceDetector = true
