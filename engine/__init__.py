"""idlegrid's headless core: tasks, training, commitments, runner, chain, storage.

Nothing here imports Qt; only ``engine.training`` (and the runner process that hosts it)
imports torch, so the tray app stays light.
"""

__version__ = "0.1.0"
