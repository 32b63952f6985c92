"""Latent Explorer backend: datasets, autoencoders, training, model files, metrics, projections.

Nothing in this package (outside ``explorer.ui``) imports Streamlit, so every part can be driven
from tests and from the command line (``python -m explorer``).
"""

__version__ = "0.1.0"
