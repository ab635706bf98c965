"""The ch. 3 inpainting generator: its networks, model file, holes, trainer and engine.

A package of its own so that Remove's classic engine (and the start-up registry) never
pay for it: nothing here imports torch at import time.
"""
