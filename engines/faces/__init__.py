"""Faces: detection, 68 landmarks, FFHQ alignment, identity and expression shape.

Shared by the Expression engines (and anything else that needs to find a face). Importing
the package is cheap: dlib and its model files are loaded on first use, in ``models``.
"""
