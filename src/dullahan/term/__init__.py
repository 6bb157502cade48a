"""The adapter around Ghostty's VT engine (pyghostty): terminals, screen reading, input encoders."""
