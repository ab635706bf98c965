"""The canvas: the photo, the selection mask painted over it, and the tools that edit it."""
