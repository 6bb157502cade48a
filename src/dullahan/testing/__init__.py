"""Test and measurement tools that ship with Dullahan.

- :mod:`dullahan.testing.client`: a scripted WebSocket client (hello, frames applied to the reference
  replica, acks, resync on holes, byte counters, slow reading, vanishing, echo-latency timing).
- :mod:`dullahan.testing.server`: a private server subprocess and a blocking/async IPC helper.
- :mod:`dullahan.testing.tlscert`: a throw-away self-signed certificate for loopback TLS.
- :mod:`dullahan.testing.soak`: ``dullahan test soak``, the built-in soak test (SPEC §7, §10).

The benchmarks (``bench/``) reuse the client and the server helper.
"""
