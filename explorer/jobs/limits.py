"""What one student, and the class together, may ask of the job engine.

Caps are keyed by an ``owner`` string passed with each job: today a browser session, with the
class feature a student's id (so a student with many tabs is one owner). Every limit a teacher
sets is an environment variable, read when the engine starts (README, "Limits a teacher can
set"); each refusal is one sentence that says what to do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from explorer.errors import ConfigError


def _env_number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name) or default)
    except ValueError:
        return default
    return value if value >= 0 else default


@dataclass(frozen=True)
class Limits:
    per_owner: int = 1  # jobs one student may have training or queued at once
    total: int = 60  # jobs the whole class may have training or queued at once
    max_job_images: int = 3_000_000  # epochs × training images of one job (0: no limit)
    owner_quota_bytes: int = 0  # what one student's saved runs may take (0: no per-student cap)

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            per_owner=max(1, int(_env_number("EXPLORER_JOBS_PER_STUDENT", cls.per_owner))),
            total=max(1, int(_env_number("EXPLORER_MAX_JOBS", cls.total))),
            max_job_images=int(_env_number("EXPLORER_MAX_JOB_IMAGES", cls.max_job_images)),
            owner_quota_bytes=int(_env_number("EXPLORER_STUDENT_QUOTA_MB", 0) * 2**20),
        )

    def check(self, epochs: int, n_train: int, owner_jobs: int, all_jobs: int,
              owner_bytes: int) -> None:
        """Raise ConfigError with one sentence if a job of `epochs` × `n_train` images may not
        be queued now, for an owner with `owner_jobs` active jobs and `owner_bytes` of saved
        runs, beside `all_jobs` active jobs in the class."""
        if owner_jobs >= self.per_owner:
            if self.per_owner == 1:
                raise ConfigError("You already have a model training or queued: stop it, or "
                                  "wait for it to finish, before starting another.")
            raise ConfigError(f"You already have {owner_jobs} models training or queued, the "
                              "most one student may have at once: stop one, or wait for one "
                              "to finish.")
        if all_jobs >= self.total:
            raise ConfigError(f"The class's queue is full ({all_jobs} models training or "
                              "waiting); try again when one has finished.")
        images = epochs * n_train
        if self.max_job_images and images > self.max_job_images:
            most = max(1, self.max_job_images // max(n_train, 1))
            raise ConfigError(f"{epochs} epochs of {n_train:,} images is longer than your "
                              f"teacher allows ({self.max_job_images:,} images in all): choose "
                              f"at most {most} epochs, or a smaller dataset.")
        if self.owner_quota_bytes and owner_bytes >= self.owner_quota_bytes:
            raise ConfigError(f"Your saved runs take {owner_bytes / 2**20:.1f} MB, all of the "
                              f"{self.owner_quota_bytes / 2**20:.0f} MB each student may keep; "
                              "ask your teacher to remove some of them before training another.")

    def room(self, owner_bytes: int) -> int | None:
        """Bytes the owner may still save, or None when students have no cap of their own."""
        return max(0, self.owner_quota_bytes - owner_bytes) if self.owner_quota_bytes else None
