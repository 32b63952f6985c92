"""How useful a model's codes are: k-nearest-neighbour classification of the test images by
their codes (the card's ``knn_acc``), the same vote scikit-learn's ``KNeighborsClassifier`` casts.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

KNN_MAX_TRAIN = 10_000  # k-NN on 60,000 x 784 pixels is slow; a seeded subsample answers the same


def knn_accuracy(
    train_codes: np.ndarray,
    y_train: np.ndarray,
    test_codes: np.ndarray,
    y_test: np.ndarray,
    k: int = 5,
) -> float:
    """Test accuracy of a k-NN classifier on the codes: each test image gets the majority label of
    its k nearest *training* codes (Euclidean); do similar codes mean the same class?

    scikit-learn's ``KNeighborsClassifier`` (uniform weights, Euclidean) done with torch: the
    k nearest training codes vote and a tied vote goes to the smallest label, as there; torch is
    already loaded, and importing scikit-learn would cost a CLI run more than the vote."""
    train = torch.as_tensor(np.asarray(train_codes), dtype=torch.float64).flatten(1)  # (N, D)
    test = torch.as_tensor(np.asarray(test_codes), dtype=torch.float64).flatten(1)  # (M, D)
    classes, y = np.unique(np.asarray(y_train), return_inverse=True)
    nearest = torch.cdist(test, train).topk(min(k, len(train)), largest=False).indices  # (M, k)
    votes = F.one_hot(torch.as_tensor(y.reshape(-1))[nearest], len(classes)).sum(1)  # (M, C)
    predicted = classes[votes.argmax(1).numpy()]  # argmax: the first (smallest) label on a tie
    return float(np.mean(predicted == np.asarray(y_test)))


def knn_train_subset(n: int, max_train: int | None, seed: int) -> np.ndarray:
    """Indices of the training images the classifier sees: all, or a seeded subsample so k-NN on
    pixels of a 60,000-image set stays quick."""
    if max_train is None or n <= max_train:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_train, replace=False))
