"""Training jobs: a spec, a worker that runs it, and an engine that queues specs and runs them
outside the web server (local worker processes, or a Ray cluster)."""

from explorer.frontdoor import lazy
from explorer.jobs.engine import Engine, Job, get_engine, running_engine
from explorer.jobs.spec import JobSpec, JobState

__all__ = ["Engine", "Job", "JobSpec", "JobState", "get_engine", "running_engine"]

# One run, start to end (the worker's side, with torch): imported the first time it is asked for.
OFFERS = {"run": "RunOutcome build_card run_training"}
__getattr__, __dir__ = lazy(__name__, OFFERS, globals())
