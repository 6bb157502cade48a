"""Shells and their arrangement: PTYs, panes, windows, layouts, and the session that owns them."""
