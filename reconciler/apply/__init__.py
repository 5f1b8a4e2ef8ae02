"""The apply engine: read live state through the client, plan, and execute the plan.

Batched, etag-guarded, conflict-retrying and never duplicating; every object gets a typed
outcome (see :mod:`reconciler.apply.results`) instead of an exception stopping the run.
"""
