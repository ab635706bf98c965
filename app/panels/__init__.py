"""Side panels, one per operation; the window shows the one the user picked."""
