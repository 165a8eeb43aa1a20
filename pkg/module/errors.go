package module

import "errors"

// ErrInvalidBundle: a bundle file or directory cannot be used as it is. The
// message names the file and what was expected. Check with errors.Is.
var ErrInvalidBundle = errors.New("invalid bundle")

// ErrUnknownModule: the name is not a module of the bundle in force. Check
// with errors.Is.
var ErrUnknownModule = errors.New("unknown module")
