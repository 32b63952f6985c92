"""The latent map: its figure's contents, and selection -> image indices."""

import numpy as np
import pytest

from explorer.analysis import mapview
from explorer.analysis.mapview import pair_for_interpolation, selected_indices
from explorer.figures.map import map_figure


def test_one_webgl_trace_per_class_carrying_indices():
    coords = np.random.default_rng(0).normal(size=(30, 2))
    labels = np.arange(30) % 3
    fig = map_figure(coords, labels, ["a", "b", "c"])
    assert [t.name for t in fig.data] == ["a", "b", "c"]
    assert all(t.type == "scattergl" for t in fig.data)
    got = sorted(int(i) for t in fig.data for i in t.customdata)
    assert got == list(range(30))
    b = fig.data[1]
    assert np.allclose(np.asarray(b.x), coords[labels == 1, 0])


def test_highlight_adds_rings_around_chosen_points():
    coords = np.zeros((5, 2))
    fig = map_figure(coords, np.zeros(5, int), ["only"], highlight=[1, 3])
    assert fig.data[-1].name == "chosen" and list(fig.data[-1].customdata) == [1, 3]


def test_selection_points_become_unique_indices_in_order():
    selection = {"points": [{"customdata": 7}, {"customdata": [3]}, {"customdata": 7},
                            {"x": 1.0}, {"customdata": "x"}]}
    assert selected_indices(selection) == [7, 3]
    assert selected_indices(selection, limit=1) == [7]
    assert selected_indices(None) == [] and selected_indices({"points": []}) == []


def test_two_selected_images_make_an_interpolation_pair():
    assert pair_for_interpolation([4, 9, 1]) == (4, 9)
    assert pair_for_interpolation([4]) is None


def test_clicked_points_keep_the_order_they_were_clicked_in():
    # plotly lists a selection by trace (class), not by click: 7 (class 1) clicked before 3.
    assert mapview.in_click_order([7], [3, 7]) == [7, 3]
    assert mapview.in_click_order([7, 3], [3]) == [3]  # one deselected
    assert mapview.in_click_order([], [5, 2]) == [5, 2]


def test_the_pair_to_interpolate_has_two_classes_when_the_selection_does():
    labels = [0, 0, 0, 1, 1]
    assert mapview.pair_for_interpolation([0, 1, 2, 4], labels) == (0, 4)
    assert mapview.pair_for_interpolation([0, 1], labels) == (0, 1)  # only one class chosen
    assert mapview.pair_for_interpolation([4, 0]) == (4, 0)  # click order kept
    assert mapview.pair_for_interpolation([3]) is None


def test_a_continuous_colouring_is_one_trace_with_a_named_colour_bar():
    rng = np.random.default_rng(0)
    coords, labels = rng.normal(size=(50, 2)), np.arange(50) % 5
    values = rng.gamma(2.0, size=50)
    values[0] = 1e6  # one outlier must not wash the colours of all the others out
    fig = map_figure(coords, labels, list("abcde"), values=values, values_title="error, nats",
                     highlight=[4], highlight_name="found")
    dots, rings = fig.data
    assert dots.marker.colorbar.title.text == "error, nats"
    assert np.allclose(np.asarray(dots.marker.color), values.astype(np.float32))
    assert sorted(int(i) for i in dots.customdata) == list(range(50))  # selections still map back
    assert dots.marker.cmax < 1e6 and dots.marker.cmin >= values.min()
    assert rings.name == "found" and list(rings.customdata) == [4]
    centred = map_figure(coords, labels, list("abcde"), values=values - 2, values_title="z[0]",
                         centre=0.0).data[0].marker
    assert centred.cmin == pytest.approx(-centred.cmax)  # a diverging scale, white at zero


def test_kl_is_only_offered_for_a_vae_and_every_colouring_names_its_units():
    assert "kl" in mapview.colour_options("vae") and "kl" not in mapview.colour_options("ae")
    assert mapview.colour_title("kl", "vae", "bernoulli").endswith("nats per image")
    assert "Gaussian" in mapview.colour_title("error", "vae", "gaussian")
    assert mapview.colour_title("z", "ae", "bernoulli", 3).startswith("z[3]")


def test_the_newest_action_decides_what_the_map_shows():
    figure = ("model", None, ("umap", "class", 0))
    # a click on this figure
    chosen, kept = mapview.choose([3, 1], [], figure, None)
    assert chosen == [3, 1] and not kept.inherited
    # the UMAP map replaces its PCA stand-in, or another colouring: the clicks stay, marked kept
    recoloured = ("model", None, ("umap", "error", 0))
    chosen, kept = mapview.choose([], [], recoloured, kept)
    assert chosen == [3, 1] and kept.inherited
    assert mapview.choose([], [], recoloured, kept)[0] == [3, 1]  # and stay on the next run
    # a search changes the figure: what it found replaces the clicks
    searching = ("model", ("image", 7), ("umap", "error", 0))
    chosen, kept = mapview.choose([], [7], searching, kept)
    assert chosen == [7] and not kept.inherited
    # a click made while searching wins over the search, until the search changes
    chosen, kept = mapview.choose([2], [7], searching, kept)
    assert chosen == [2]
    assert mapview.choose([], [9], ("model", ("image", 9), ("umap", "error", 0)), kept)[0] == [9]
    # another model never inherits this one's clicks
    assert mapview.choose([], [], ("other", None, ("umap", "class", 0)), kept)[0] == []


def test_two_maps_ring_the_newest_selection_made_on_either():
    chosen = mapview.newest_selection({"a": [1, 2], "b": []}, {}, [])
    assert chosen == [1, 2]
    # both charts were redrawn with rings, so both start empty: the choice stays
    assert mapview.newest_selection({"a": [], "b": []}, {"a": [1, 2]}, chosen) == [1, 2]
    # a selection still standing on one chart is not new; one made on the other is
    assert mapview.newest_selection({"a": [1, 2], "b": [5]}, {"a": [1, 2], "b": []},
                                    chosen) == [5]


# ---------------------------------------------------------------------------------------------
# the decode-anywhere plane: a click -> the latent code it stands for


def test_a_click_on_the_plane_becomes_its_position():
    # What Streamlit hands over for a click on a grid point (no customdata) or on a code.
    grid_click = {"points": [{"curve_number": 0, "point_index": 12, "x": 0.25, "y": -1.5}]}
    assert mapview.clicked_position(grid_click) == (0.25, -1.5)
    code_click = {"points": [{"curve_number": 3, "x": 2.0, "y": 1.0, "customdata": 17}]}
    assert mapview.clicked_position(code_click) == (2.0, 1.0)
    # shift-click: the last point listed; points without usable coordinates are skipped
    both = {"points": [*grid_click["points"], *code_click["points"], {"x": None, "y": 1},
                       {"x": float("nan"), "y": 0.0}]}
    assert mapview.clicked_position(both) == (2.0, 1.0)
    assert mapview.clicked_position(None) is None
    assert mapview.clicked_position({"points": []}) is None
    assert mapview.clicked_position({"points": [{"customdata": 3}]}) is None


def test_a_position_on_the_plane_is_the_base_code_with_two_dimensions_moved():
    base = np.arange(5, dtype=np.float32)
    z = mapview.plane_code(base, (3, 1), (0.5, -2.0))
    assert z.dtype == np.float32 and z.shape == (5,)
    assert z.tolist() == [0.0, -2.0, 2.0, 0.5, 4.0]
    assert base.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]  # the base is not changed
    assert mapview.plane_code(np.zeros(2), (0, 1), (1.25, -0.75)).tolist() == [1.25, -0.75]


def test_a_position_survives_the_url():
    for position in [(0.5, -1.0), (-2.3456789, 1e-3)]:
        back = mapview.parse_position(mapview.position_text(position))
        assert np.allclose(back, position, rtol=1e-3)
    for bad in [None, "", "1", "1,2,3", "a,b", "nan,0", "1,inf"]:
        assert mapview.parse_position(bad) is None
