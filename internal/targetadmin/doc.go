// Package targetadmin is a client of the reference target's admin API over
// HTTP: its dependencies' settings (GET/PUT /admin/deps), its admission
// section (GET/PUT /admin/config) and where its async consumers deliver
// (GET/PATCH /admin/backlog). Fault injectors and loadgen's delivery sink
// use it; it knows nothing of faults and imports nothing of target/, whose
// admin API it reaches only over HTTP.
package targetadmin
