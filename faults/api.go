package faults

import "github.com/goodput-dev/goodput/internal/jsonapi"

// APIError is an admin or control API call that the server answered with
// an error status: it refused the call and changed nothing. The target's
// admin client (package targetadmin) and ProxyClient return it.
type APIError = jsonapi.Error
