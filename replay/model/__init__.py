"""The traffic model: many users' sessions → flow types, their shares, the arrival curve and
the think times (`replay model`), written as recordings plus `model.toml` for a load shape.

Light on purpose: `replay.runtime` reads the model file through `replay.model.file` on every
worker, so importing this package loads nothing of the converter.
"""
