"""What a model does with the data: metrics, scores, latent maths, neighbours, the 2-D maps and their cache."""

from explorer.frontdoor import lazy

# What the pages may use: each module, and the names offered from it (explorer/frontdoor.py).
OFFERS = {
    "inspect_latent": "center_code COLLAPSE_NATS decoded_grid holes_fraction LatentUsage "
                      "map_extent sigma_mass",
    "mapview": "choose_points=choose clicked_position colour_options colour_title COLOURS Kept "
               "newest_selection pair_for_interpolation parse_position plane_code position_text "
               "selected_indices",
    "metric_names": "floor_about metric_name",
    "metrics": "image_errors pca_baseline pca_reconstruct",
    "neighbours": "landing_ratio most_common NeighbourIndex Neighbours",
    "projection": "Projection ProjectionError ProjectionParams TITLES warm_up_umap_in_background",
    "projection_jobs": "ProjectionJob",
    "rdplane": "point_from_card rd_measure=measure rd_point RDPoint",
    "replay": "load_replay Replay replay_coords",
    "score_words": "table_in_words",
    "scores": "check_analogies FD_NAME load_classifier N_SAMPLES read_codes score_floor=floor "
              "SCORE_NAMES SCORE_SEEDS SPREAD_KEYS with_spread",
    "view": "analogy_codes can dataset decode DIGIT_NAMES encode_dataset grid_2d interpolate lerp "
            "mixed_indices ModelView path_lengths REFERENCE_SEED sample sample_prior slerp "
            "test_labels traverse",
    "warmup": "start_in_background",
}
__getattr__, __dir__ = lazy(__name__, OFFERS, globals())
