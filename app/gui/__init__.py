"""The desktop front end (PySide6): the window, its canvas, panels, dialogs and job runner.

``app.gui.launch`` checks that Qt can show a window here before it imports PySide6;
``app.gui.window`` builds the window, with one dock panel per operation of the
operations table. It never imports the command line (``app.cli``); what both front ends
need lives in ``engines``.
"""
