"""The command-line front end: ``transfigure COMMAND ...``.

One module per command group (``remove``, ``composite``, ``harmonize``, ``translate``,
``expression`` from the operations table; ``listing`` and ``weights``), the shared
terminal pieces (``console``, ``progress_bar``, ``common``) and ``main``, which builds
the parser and turns every failure into one line. It never imports the window
(``app.gui``); what both front ends need lives in ``engines``.
"""

from app.cli.main import build_parser, command_names, main

__all__ = ["build_parser", "command_names", "main"]
