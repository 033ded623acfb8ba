// Package targetadmin is a client of the reference target's admin API over
// HTTP: its dependencies' settings (GET/PUT /admin/deps), its admission
// section (GET/PUT /admin/config) and where its async consumers deliver
// (GET/PATCH /admin/backlog). Fault injectors and loadgen's delivery sink
// use it; it knows nothing of faults and imports nothing of target/, whose
// admin API it reaches only over HTTP.
//
// A change can be leased (LeaseDep, LeaseAdmission: the X-Lease header):
// unless the same call comes again within the lease, the target puts the
// resource back as it was before the lease's first call, so a caller that
// dies does not leave the target changed. The same call again renews the
// lease; a plain PutDep or PutAdmission ends it without a rollback. Leases
// lists the live ones.
package targetadmin
