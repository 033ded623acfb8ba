package main

import (
	"os"

	"github.com/spf13/pflag"

	"github.com/goodput-dev/goodput/internal/targetadmin"
)

// adminTokenEnv is the environment variable the reference target's admin
// token may come from (like the fault proxy's LOADGEN_PROXY_TOKEN). There
// is no flag with the token itself: it would show in ps.
const adminTokenEnv = "LOADGEN_TARGET_ADMIN_TOKEN"

// addAdminTokenFlag adds --target-admin-token-file to fs and returns its
// value; admin names the admin API it is for, in the help.
func addAdminTokenFlag(fs *pflag.FlagSet, admin string) *string {
	return fs.String("target-admin-token-file", "", "read the bearer token of "+admin+" from FILE (one trailing newline trimmed; default $"+adminTokenEnv+", which also keeps it out of ps)")
}

// adminToken returns the admin token from, first to last, the file named
// by --target-admin-token-file and $LOADGEN_TARGET_ADMIN_TOKEN, and where
// it came from; with neither, an empty token and where one can be given.
func adminToken(file string) (token, from string, err error) {
	if file != "" {
		tok, err := targetadmin.ReadTokenFile(file)
		if err != nil {
			return "", "", flagErr("target-admin-token-file", err)
		}
		return tok, "--target-admin-token-file " + file, nil
	}
	if tok := os.Getenv(adminTokenEnv); tok != "" {
		return tok, "$" + adminTokenEnv, nil
	}
	return "", "$" + adminTokenEnv + " or --target-admin-token-file", nil
}
