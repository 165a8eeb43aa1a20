package bundle

import "io"

// UnpackWithLimits is Unpack with other limits on file content, the
// uncompressed stream and entries, so that tests reach them without
// writing a gigabyte.
func UnpackWithLimits(r io.Reader, dir string, content, stream int64, entries int) error {
	return unpack(r, dir, limits{content: content, stream: stream, entries: entries})
}
