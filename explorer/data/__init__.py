"""Datasets in, tensors out: the built-in, downloadable and a class's own image sets, and a hand-drawn digit prepared like them."""
