"""Kitty graphics without FFI: placeholder and geometry rules, limits (``model``) and the PNG codec (``codec``).

The terminal adapter (``term/images.py``) reads Ghostty's image storage into the data shapes of
``dullahan.shapes`` (``PaneImages``, ``Placement``, ``ImagePixels``) using the rules here.
"""
