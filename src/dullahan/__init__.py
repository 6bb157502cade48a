"""Dullahan: tmux rebuilt as a server and a browser client."""

__version__ = "0.1.0"
