"""Dialogs opened from the window or a panel (training a translator, …)."""
