"""A minimal terminado server (Jupyter's terminal backend): ``python terminado_app.py PORT``.

``/websocket/<name>`` attaches to the named terminal (created on first use), so many clients can share one.
"""

from __future__ import annotations

import asyncio
import sys

import tornado.web
from terminado import NamedTermManager, TermSocket


async def main(port: int) -> None:
    manager = NamedTermManager(shell_command=["bash", "--noprofile", "--norc"], max_terminals=64)
    app = tornado.web.Application([(r"/websocket/(\w+)", TermSocket, {"term_manager": manager})])
    app.listen(port, "127.0.0.1")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
