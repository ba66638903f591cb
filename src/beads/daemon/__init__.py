"""The daemon: one writer per workspace, serving `bd` and other clients over a unix socket.

``paths`` and ``client`` are what the CLI imports on its hot path (standard library
only, nothing else of ours); the server side (``server``, ``ops``, ``runner``,
``process``, ``events``) is imported only inside the daemon process.
"""
