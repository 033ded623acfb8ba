// Package kubernetes holds the manifests that run a sharded goodput load as a
// Kubernetes Indexed Job, and the test that checks them structurally. It has
// no Go code to import.
package kubernetes
