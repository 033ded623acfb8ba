package main

import (
	"io"
	"os"

	"github.com/goodput-dev/goodput/internal/cli"
)

// output is where a command's -o sends what it writes.
type output struct {
	io.Writer
	file *os.File // nil: standard output
}

// openOutput opens -o path for command: standard output for "" and "-",
// else the file, created (or truncated). A file that cannot be created is
// a usage error naming it.
func openOutput(command, path string, stdout io.Writer) (output, error) {
	if path == "" || path == "-" {
		return output{Writer: stdout}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return output{}, cli.Usagef("%s: -o %s: %v", command, path, err)
	}
	return output{Writer: f, file: f}, nil
}

// toFile reports whether the output is a file rather than standard output.
func (o output) toFile() bool { return o.file != nil }

// Close closes the file (nothing for standard output).
func (o output) Close() error {
	if o.file == nil {
		return nil
	}
	return o.file.Close()
}
