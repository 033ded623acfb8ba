// Package grafana holds the Grafana dashboard of a live run (goodput.json:
// loadgen's --metrics-listen series beside the reference target's) and the
// test that checks every query names series the two really export. It has
// no Go code to import.
package grafana
