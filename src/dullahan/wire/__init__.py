"""The browser protocol, free of I/O: message validation, row encoding, per-client frame building."""
