// Package faults is the chaos half of goodput: fault kinds, the timeline
// that applies each fault at its time and removes it at its end, and the
// injectors that put faults in place.
//
// A fault kind is a small value type (Delay, Latency, Abort, Reset, Stall,
// Timeout, Bandwidth, Capacity, Surge, Burst, Retry), one file each. Every
// kind implements Fault and, depending on where it can act, one or more of
// the capability interfaces, found by type assertion:
//
//   - DepFault: it changes a simulated dependency of the reference target
//     (a targetadmin.DepConfig patch, applied through the admin API by
//     TargetInjector);
//   - HTTPFault: it acts on each HTTP exchange through a fault proxy
//     (package faults/proxy; driven over its control API by ProxyInjector,
//     or in process by proxy.Injector);
//   - ServiceFault: it changes the reference target's own admission limit
//     (target "target"), through TargetInjector;
//   - LoadFault: it changes the load itself (a surge, a burst, a new retry
//     policy), through LoadInjector.
//
// A kind refuses what it cannot do in its own file, too: DepChecker (what
// a dependency cannot do with its fields) and TargetChecker (which targets
// its fields take) are optional. No switch on kinds is left outside the
// kinds' files.
//
// A Spec is the JSON and YAML form of a fault, shared by the proxy's
// control API and the profiles' `faults:` entries; Spec.Entry converts one
// into an Entry of a Timeline. Conversion does not validate: each fault is
// validated once, by Timeline.Validate (or Entry.Validate, or ProxySpec
// for a proxy).
//
// Timeline.Run validates, checks (Timeline.Check: snapshots, and asks each
// injector) and plays (Timeline.Play); a caller that validated the
// timeline already calls Check and Play. Playing applies and removes the entries on time, records how late
// each action was (results.Event.At − Event.Scheduled), and always rolls
// back: at its end, on error and when its context is cancelled, every
// fault still in place is removed and every injector that took a snapshot
// (the reference target's dependency settings, the proxy's fault list) is
// restored to it. A rollback that fails is returned as a *RollbackError
// listing what was left in place. Faults applied through the reference
// target's admin API also hold a lease that the timeline renews while
// they are in place (Renewer): if the harness dies without its rollback
// (kill -9), the target rolls them back itself when the lease runs out.
//
// Each kind's file also declares its KindInfo (fields, what it acts on,
// the knob it turns, a one-line description) in a `func xxxKind()
// KindInfo`; Registry, a function that go generate writes (kinds_gen.go,
// by faults/internal/gen), lists them, and Spec, the timeline's conflict check, the profile schema and
// its docs are derived from it. There is no registration at init time and
// no package state; any other type implementing Fault and a capability
// interface can still be put in an Entry directly.
package faults
