"""lessonkit: the computations behind the attention-visualization lesson.

A plain library (no UI): each module holds one idea of the lesson. Arrays carry
their shapes in names and type hints, e.g. ``attn: layers x heads x q x k``.
"""
