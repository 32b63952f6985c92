"""A throwaway family over another run's codes, added from this folder alone: its "prior" is the
mean of a base run's training codes. It proves that the CLI and the job worker hand such a family
its commands and jobs through the registry, naming none."""

from explorer.families.base import Family

FAMILY = Family("mean-prior", "Mean prior", frozenset({"sample"}), "tests.families.mean_prior.ops",
                about="the mean of a base run's codes", reconstructs=False, base_run=True,
                card_file="mean_prior.json")
