"""Benchmarks of ICP Align against a floor started in the same run (issue 15).

One command per measured row: ``python -m benchmarks.survey_steps``, ``.fanout``, ``.report``,
``.startup``; ``python -m benchmarks`` runs them all (``--quick`` for a smoke run). Every
server listens on 127.0.0.1 only; every run is bounded in count and in time.
"""
