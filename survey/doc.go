// Package survey searches how large and how long a surge a service takes
// before it no longer comes back: for each surge multiplier, the longest
// surge duration after which the service recovers once the trigger is
// gone.
//
// A cell is one surge (multiplier × baseline for a duration) played from a
// recovered service, followed by the baseline long enough to judge
// recovery. Its verdict is recovered (with its recovery time), slow
// (recovered, later than a threshold) or metastable (not recovered while
// the trigger was gone). Search bisects, for each multiplier, the duration
// at which the service stops recovering, assuming that a larger or longer
// surge never does better than a smaller or shorter one; every pair of
// cells that contradicts that is reported, never hidden. The boundary it
// reports is conservative: the longest surviving duration below the
// shortest failed one.
//
// The package only searches and reports: a Trial plays one cell (the
// harness plays it for real, tests play it on a model), so the search is
// deterministic and testable without HTTP. It writes the survey as a text
// table, JSON and a self-contained HTML heat map, and checks assertions of
// the form `survive(3x) >= 10s`.
package survey
