"""The control socket: one JSON request per line in, one JSON reply per line out."""
