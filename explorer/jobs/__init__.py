"""Training jobs: a spec, a worker that runs it, and an engine that queues specs and runs them
outside the web server (local worker processes, or a Ray cluster)."""

from explorer.jobs.engine import Engine, Job, get_engine, running_engine
from explorer.jobs.run import RunOutcome, build_card, run_training
from explorer.jobs.spec import JobSpec, JobState

__all__ = ["Engine", "Job", "JobSpec", "JobState", "RunOutcome", "build_card", "get_engine",
           "run_training", "running_engine"]
