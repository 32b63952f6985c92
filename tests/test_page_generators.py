"""Pages with a GAN or a CVAE picked: a sentence where the page needs an encoder, never an
exception; the CVAE's Sample asks which digit; Compare generators renders its table, names its
scores, and says in words only what the table shows."""

import re

import pandas as pd
import pytest
import torch
from streamlit import dataframe_util

from explorer import scores
from explorer.checkpoints import save_model
from explorer.figures_compare import precision_recall_figure
from explorer.models import ModelConfig, build_model
from tests.apptest_helpers import open_page

ENCODER_PAGES = ["explorer/ui/latent_map.py", "explorer/ui/compare.py",
                 "explorer/ui/interpolate.py", "explorer/ui/draw.py", "explorer/ui/inside.py"]


def _save(runs, name, cfg):
    model = build_model(cfg, torch.Generator().manual_seed(0)).eval()
    save_model(model, runs / name, {"name": name, "dataset": {"name": "digits"}})
    return f"runs/{name}"


@pytest.mark.parametrize("page_path", ENCODER_PAGES)
def test_pages_needing_an_encoder_say_so_for_a_gan(page_path, runs):
    model = _save(runs, "gan", ModelConfig("gan", "mlp", (1, 8, 8), latent_dim=4, hidden=(16,)))
    at = open_page(page_path, model)
    assert not at.error
    assert any("needs a model that can turn an image into a code" in i.value for i in at.info)


def test_cvae_sample_asks_which_digit_and_interpolate_keeps_the_style(runs):
    model = _save(runs, "cvae", ModelConfig("cvae", "mlp", (1, 8, 8), latent_dim=4,
                                            hidden=(16,), n_classes=10))
    at = open_page("explorer/ui/sample.py", model)
    assert at.selectbox(key="sample_class").label == "Which digit?"
    before = [u for im in at.image for u in im.value]
    at.selectbox(key="sample_class").set_value(7).run()
    assert not at.exception and [u for im in at.image for u in im.value] != before
    at = open_page("explorer/ui/interpolate.py", model)
    assert any("Same style, another digit" in h.value for h in at.subheader)


def shown(table) -> pd.DataFrame:
    """A table as the reader sees it: each cell's displayed text (the Styler's display values)."""
    return dataframe_util.convert_arrow_bytes_to_pandas_df(
        table.proto.arrow_data.styler.display_values)


def test_compare_generators_table_says_what_each_score_is_and_dashes_what_is_missing(runs):
    at = open_page("explorer/ui/generators.py")
    assert not at.error, [e.value for e in at.error]
    table = at.main.table[0]
    columns = list(table.value.columns)
    assert "Fréchet distance (classifier features)" in columns and "class accuracy" in columns
    assert not {"fid", "class_accuracy"} & set(columns), columns  # no code names as headers
    cells = shown(table).to_numpy().ravel().tolist()
    assert "—" in cells and not {"None", "nan", "NaN"} & set(map(str, cells))


def test_compare_generators_words_agree_with_the_table(runs):
    """The sentence under the table is computed from it: the model it names as most precise has
    the table's highest precision, the one with most recall the highest recall, and the GAN's
    ranks are its places in those columns."""
    at = open_page("explorer/ui/generators.py")
    frame = at.main.table[0].value.drop(index="real (train vs test)").round(3)
    (said,) = [c.value for c in at.caption if c.value.count("the highest") == 2]
    for key in ("precision", "recall"):
        best = frame[key].idxmax()
        assert f"the highest {key} is {best}'s ({frame[key].max():.3f})" in said, said
    gans = [n for n in frame.index if "-gan-" in n]
    for gan in gans:
        rank = 1 + int((frame["precision"] > frame.loc[gan, "precision"]).sum())
        assert re.search(rf"The GAN {re.escape(gan)} ranks {rank}(st|nd|rd|th) of {len(frame)} "
                         "on precision", said), said
    # What papers report is said as theirs, not as what this table shows.
    assert not any(c.value.startswith("GAN samples tend to be sharp") for c in at.caption)


def test_table_in_words_names_every_model_on_a_tie_and_ranks_the_gan():
    table = {"real (train vs test)": {"precision": 0.99, "recall": 0.99},
             "vae": {"precision": 0.8, "recall": 0.7}, "cvae": {"precision": 0.8, "recall": 0.2},
             "gan": {"precision": 0.5, "recall": 0.9}}
    said = scores.table_in_words(table, {"vae": "vae", "cvae": "cvae", "gan": "gan"})
    assert "the highest precision, 0.800, is shared by vae and cvae" in said
    assert "the highest recall is gan's (0.900)" in said
    assert "The GAN gan ranks 3rd of 3 on precision (0.500) and 1st of 3 on recall" in said
    assert "real" not in said  # the floor is not a model


def test_precision_recall_names_are_in_the_legend_not_printed_over_each_other():
    rows = {"real (train vs test)": {"precision": 0.9, "recall": 0.9},
            **{f"model-{k}": {"precision": 0.8, "recall": 0.7} for k in range(12)}}
    fig = precision_recall_figure(rows)
    assert all("text" not in trace.mode for trace in fig.data)
    assert [t.name for t in fig.data] == list(rows) and all(t.showlegend is not False
                                                            for t in fig.data)
    looks = {(t.marker.color, t.marker.symbol) for t in fig.data}
    assert len(looks) == len(rows), "each legend entry can be told apart"
