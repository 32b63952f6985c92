"""What a model does with the data: metrics, scores, latent maths, neighbours, the 2-D maps and their cache."""
