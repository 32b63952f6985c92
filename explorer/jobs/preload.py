"""What the workers' fork server loads once, so that no job pays for it: torch, the worker, and
the lazy first-use costs of a training run (the optimiser's and scikit-learn's imports).

Only the fork server imports this module (see ``explorer.jobs.local_backend.LocalProcesses``);
its side effects are the point.
"""

import sklearn.neighbors  # noqa: F401 - k-NN accuracy on the card
import torch

import explorer.analysis.metrics  # noqa: F401
import explorer.jobs.worker  # noqa: F401 - the code every job runs

# The first optimiser built in a process imports torch's compiler stack: seconds on two cores.
torch.optim.Adam([torch.zeros(1, requires_grad=True)], fused=True)
