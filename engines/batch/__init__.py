"""Batch: one operation over many photos, on every core of this machine.

``jobs`` turns what the user names (a folder, a glob, a list file; masks by stem or one
for all) into jobs with their output paths; ``work`` does one job in a worker process
(the engine is loaded once per process) and says what became of it; ``pool`` runs the
jobs on worker processes, in order of completion, with progress and cancel; ``report``
writes the summary as CSV or JSON. Nothing here imports Qt.
"""
