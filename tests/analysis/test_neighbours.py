"""Neighbours by code and by pixels: the same answer as brute force, never the query itself, fast
enough for a click on a 10,000-point map, and drawn as two captioned rows under the map."""

import re
import time

import numpy as np
from streamlit.testing.v1 import AppTest

from explorer.analysis.neighbours import NeighbourIndex, Space


def test_neighbours_match_brute_force_in_both_spaces_and_skip_the_query():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(300, 4)).astype(np.float32)
    images = rng.random((300, 1, 6, 6), dtype=np.float32)
    found = NeighbourIndex(codes, images).query(17, k=5)
    for points, index, distance in ((codes, found.code_index, found.code_distance),
                                    (images.reshape(300, -1), found.pixel_index,
                                     found.pixel_distance)):
        brute = np.linalg.norm(points - points[17], axis=1)
        brute[17] = np.inf
        assert index.tolist() == np.argsort(brute)[:5].tolist()
        assert np.allclose(distance, np.sort(brute)[:5], atol=1e-4)
    assert found.shared == len(set(found.code_index) & set(found.pixel_index))


def test_a_code_finds_itself_first_at_distance_zero_and_a_batch_matches_brute_force():
    rng = np.random.default_rng(3)
    codes = rng.normal(size=(400, 16)).astype(np.float32) * 20  # large codes: rounding shows
    index, distance = Space(codes).nearest(codes[17], k=8)
    assert index.shape == (8,) and index[0] == 17 and distance[0] == 0.0
    brute = np.linalg.norm(codes.astype(np.float64) - codes[17], axis=1)
    assert index.tolist() == np.argsort(brute)[:8].tolist()
    np.testing.assert_allclose(distance, np.sort(brute)[:8], rtol=1e-6)
    queries = rng.normal(size=(5, 16)).astype(np.float32) * 20  # codes of no test image
    index, distance = Space(codes).nearest(queries, k=3)
    assert index.shape == distance.shape == (5, 3)
    brute = np.linalg.norm(codes[None].astype(np.float64) - queries[:, None], axis=2)  # (5, 400)
    assert index.tolist() == np.argsort(brute, axis=1)[:, :3].tolist()
    assert Space(codes[:4]).nearest(codes[0], k=10)[0].shape == (4,)  # k capped


def test_a_new_image_is_answered_in_both_spaces_and_a_test_image_copied_is_found_at_0():
    rng = np.random.default_rng(4)
    codes = rng.normal(size=(100, 3)).astype(np.float32)
    images = rng.random((100, 1, 5, 5), dtype=np.float32)
    found = NeighbourIndex(codes, images).query_new(codes[40], images[40], k=4)
    assert found.code_index[0] == found.pixel_index[0] == 40  # not excluded: it is "new"
    assert found.code_distance[0] == found.pixel_distance[0] == 0.0
    assert found.code_index.tolist() == np.argsort(
        np.linalg.norm(codes - codes[40], axis=1))[:4].tolist()


def test_codes_that_copy_the_pixels_share_every_neighbour():
    rng = np.random.default_rng(1)
    images = rng.random((50, 1, 4, 4), dtype=np.float32)
    found = NeighbourIndex(images.reshape(50, -1) * 3.0, images).query(0, k=6)
    assert found.shared == 6 and np.allclose(found.code_distance, 3 * found.pixel_distance,
                                             rtol=1e-4)


def test_one_query_on_10000_points_answers_within_100_ms():
    rng = np.random.default_rng(2)
    index = NeighbourIndex(rng.normal(size=(10_000, 16)).astype(np.float32),
                           rng.random((10_000, 1, 28, 28), dtype=np.float32))
    best = float("inf")
    for i in range(5):
        started = time.perf_counter()
        index.query(i * 1000, k=8)
        best = min(best, time.perf_counter() - started)
    assert best < 0.1


def _neighbour_rows():
    from explorer.runs import store
    from explorer.ui.parts import common
    from explorer.ui.parts.neighbours import show_neighbours

    entries, _ = store.list_models()
    entry = next(e for e in entries if e.id == "pretrained/digits-vae-mlp-z2")
    show_neighbours(common.Current(entry), [5])


def test_one_selected_point_shows_its_neighbours_by_code_and_by_pixels():
    at = AppTest.from_function(_neighbour_rows, default_timeout=60).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.subheader[0].value == "Nearest to #5"
    captions = [c.value for c in at.caption]
    assert sum(bool(re.search(r" (is|are) also a ", c)) for c in captions) == 2
    assert any(c.endswith("are in both rows. Where the rows differ, the code groups images by "
                          "something other than their raw pixels — often the class, drawn "
                          "differently.") for c in captions)
    assert len(at.image) == 2  # by code, then by pixels
    for row in at.image:
        captions = [im.caption for im in row.proto.imgs]  # "#index · class · distance"
        assert len(captions) == 8 and not any(c.startswith("#5 ") for c in captions)
        distances = [float(c.rsplit("· ", 1)[1]) for c in captions]
        assert distances == sorted(distances) and distances[0] >= 0
