"""The pieces of the strongroom vs OpenBao benchmark (see bench/README.md).

Only the standard library, httpx, asyncpg and redis are imported at module level, so that
`bench/scale.py` can use these modules from the project's own environment too; matplotlib
is imported where the chart is drawn.
"""
