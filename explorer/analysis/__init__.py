"""What a model does with the data: metrics, scores, latent maths, neighbours, the 2-D maps and their cache."""

from explorer.frontdoor import lazy

# What the pages may use, and the module each name comes from (explorer/frontdoor.py).
OFFERS = {
    "center_code": "inspect_latent", "COLLAPSE_NATS": "inspect_latent",
    "decoded_grid": "inspect_latent", "holes_fraction": "inspect_latent",
    "LatentUsage": "inspect_latent", "map_extent": "inspect_latent",
    "sigma_mass": "inspect_latent",
    "choose_points": "mapview:choose", "clicked_position": "mapview", "colour_options": "mapview",
    "colour_title": "mapview", "COLOURS": "mapview", "Kept": "mapview",
    "newest_selection": "mapview", "pair_for_interpolation": "mapview",
    "parse_position": "mapview", "plane_code": "mapview", "position_text": "mapview",
    "selected_indices": "mapview",
    "floor_about": "metric_names", "metric_name": "metric_names",
    "image_errors": "metrics", "pca_baseline": "metrics", "pca_reconstruct": "metrics",
    "landing_ratio": "neighbours", "most_common": "neighbours", "NeighbourIndex": "neighbours",
    "Neighbours": "neighbours",
    "Projection": "projection", "ProjectionError": "projection", "ProjectionParams": "projection",
    "TITLES": "projection", "warm_up_umap_in_background": "projection",
    "ProjectionJob": "projection_jobs",
    "point_from_card": "rdplane", "rd_measure": "rdplane:measure", "rd_point": "rdplane",
    "RDPoint": "rdplane",
    "load_replay": "replay", "Replay": "replay", "replay_coords": "replay",
    "table_in_words": "score_words",
    "check_analogies": "scores", "FD_NAME": "scores", "load_classifier": "scores",
    "N_SAMPLES": "scores", "read_codes": "scores", "score_floor": "scores:floor",
    "SCORE_NAMES": "scores", "SCORE_SEEDS": "scores", "SPREAD_KEYS": "scores",
    "with_spread": "scores",
    "analogy_codes": "view", "can": "view", "dataset": "view", "decode": "view",
    "DIGIT_NAMES": "view", "encode_dataset": "view", "grid_2d": "view", "interpolate": "view",
    "lerp": "view", "mixed_indices": "view", "ModelView": "view", "path_lengths": "view",
    "REFERENCE_SEED": "view", "sample": "view", "sample_prior": "view", "slerp": "view",
    "test_labels": "view", "traverse": "view",
    "start_in_background": "warmup",
}
__getattr__, __dir__ = lazy(__name__, OFFERS, globals())
