"""Lesson material to narrated, captioned, labelled video. Knows nothing of Django or HTTP.

The Django side calls `synthesis.render.render` and nothing else that renders.
"""
