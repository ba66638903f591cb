"""bd-orch: an orchestrator that runs an agent command over a beads workspace's ready work.

An example application on the public ``beads`` library API: its run store lives in the
workspace's own ``beads.db`` (tables ``orch_*``, created by its numbered migrations) and
joins with ``issues``; claiming, closing and creating issues go through the ``Tracker``.
"""

__version__ = "0.1.0"
