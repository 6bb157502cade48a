"""Sessions that survive: the shell keeper, saved state, and the live restart handoff.

Three scenarios (README, "What survives what"):

- ``dullahan restart``: a new server takes over from the running one (``handoff``); shells keep running,
  terminals are carried over exactly, nothing printed is lost.
- a crash of the server: the shells live on in the keeper (``keeper``), a separate tiny process that holds
  the PTY masters and is the shells' parent; the next ``serve`` reattaches them with the last saved state.
- a reboot: windows, layouts, screens and scrollback come back from the saved state (``store``, ``state``),
  with fresh shells in the last working directories.

This package's ``__init__`` stays import-free: the keeper imports its modules and must not pull in the server.
"""
