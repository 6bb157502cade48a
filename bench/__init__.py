"""Dullahan's benchmarks against tmux, terminado, WeTTY and a bare PTY floor. Run ``scripts/bench``."""
