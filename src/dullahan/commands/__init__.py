"""The command table (``table``) and its entries, one module per subject.

Importing this package registers every entry; ``table.TABLE`` then holds them all. The command line, the
control socket and the browsers' ``cmd`` messages all go through ``table.carry_out``.
"""

from dullahan.commands import server, windows, panes, io, continuity  # noqa: I001  (the order of `dullahan --help`)
from dullahan.commands.table import TABLE, CommandError, carry_out, lookup

__all__ = ["TABLE", "CommandError", "carry_out", "continuity", "io", "lookup", "panes", "server", "windows"]
