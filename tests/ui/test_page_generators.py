"""Pages with a GAN or a CVAE picked: a sentence where the page needs an encoder, never an
exception; the CVAE's Sample asks which digit; Compare generators renders its table, names its
scores, and says in words only what the table shows."""

import re

import pytest
import torch

from explorer.analysis.score_words import table_in_words
from explorer.families.models import ModelConfig, build_model
from explorer.figures.compare import precision_recall_figure
from explorer.runs.checkpoints import save_model
from explorer.usertext import md
from tests.apptest_helpers import open_page

ENCODER_PAGES = ["explorer/ui/pages/latent_map.py", "explorer/ui/pages/compare.py",
                 "explorer/ui/pages/interpolate.py", "explorer/ui/pages/draw.py", "explorer/ui/pages/inside.py"]


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
    at = open_page("explorer/ui/pages/sample.py", model)
    assert at.selectbox(key="sample_class").label == "Which digit?"
    before = [u for im in at.image for u in im.value]
    at.selectbox(key="sample_class").set_value(7).run()
    assert not at.exception and [u for im in at.image for u in im.value] != before
    at = open_page("explorer/ui/pages/interpolate.py", model)
    assert any("Same style, another digit" in h.value for h in at.subheader)


def test_compare_generators_table_says_what_each_score_is_and_dashes_what_is_missing(runs):
    at = open_page("explorer/ui/pages/generators.py")
    assert not at.error, [e.value for e in at.error]
    table = at.main.table[0]
    columns = list(table.value.columns)
    assert "Fréchet distance (classifier features)" in columns and "class accuracy" in columns
    assert not {"fid", "class_accuracy"} & set(columns), columns  # no code names as headers
    cells = table.value.to_numpy().ravel().tolist()  # the table's cells are its shown text
    assert "—" in cells and not {"None", "nan", "NaN"} & set(map(str, cells))


def _mean_sd(cell: str) -> tuple[float, float]:
    """A cell's mean and spread (none for a row scored at one seed)."""
    mean, _, sd = cell.partition(" ± ")
    return float(mean), float(sd or 0.0)


def test_compare_generators_words_agree_with_the_table(runs):
    """The sentence under the table is computed from it: the model it names as most precise has
    the table's highest precision, sharing the place with every model within the spread across
    sampling seeds; the same for recall; the GAN's ranks are its places in those columns."""
    at = open_page("explorer/ui/pages/generators.py")
    table = at.main.table[0].value
    (real,) = [n for n in table.index if n.startswith("real images")]
    assert real == "real images (4,000 train vs 1,000 test)"
    frame = table.drop(index=real)
    assert all(" ± " in c for c in frame[["precision", "recall"]].to_numpy().ravel())
    (said,) = [c.value for c in at.caption if "the highest precision" in c.value]
    assert "compares its 5,000 samples with the 1,000 test images" in said
    assert "precision and recall compare 1,000 of the samples" in said
    assert "mean ± standard deviation over 3 sampling seeds" in said
    for key in ("precision", "recall"):
        cells = {n: _mean_sd(c) for n, c in frame[key].items()}
        best = max(cells, key=lambda n: cells[n][0])
        gap = {n: cells[best][0] - cells[n][0] - cells[best][1] - cells[n][1]
               for n in cells if n != best}  # > 0: apart beyond both spreads
        slack = 2e-3  # the cells are rounded to three decimals
        if f"the highest {key} is {best}'s ({frame.loc[best, key]})" in said:
            assert all(g > -slack for g in gap.values()), (key, gap)
        else:
            clause = said.split(f"share the highest {key} within their spread")[0]
            clause = clause.split("On this table, ")[-1].split(") and ")[-1]  # recall's: 2nd
            # a name, not the start of a longer one ("X + diffusion prior" is not X)
            named = [n for n in cells if re.search(re.escape(n) + r"(?! \+)", clause)]
            assert best in named and len(named) > 1, (key, clause)
            assert all(gap[n] < slack for n in named if n != best), (key, gap)
    for gan in (n for n in frame.index if "-gan-" in n):
        assert re.search(rf"The GAN {re.escape(gan)} ranks \d+(st|nd|rd|th)( to \d+(st|nd|rd|th))? "
                         rf"of {len(frame)} on precision \({re.escape(frame.loc[gan, 'precision'])}\)",
                         said), said
    # What papers report is said as theirs, not as what this table shows.
    assert not any(c.value.startswith("GAN samples tend to be sharp") for c in at.caption)


def test_table_in_words_names_every_model_on_a_tie_and_ranks_the_gan():
    table = {"real images": {"precision": 0.99, "recall": 0.99},
             "vae": {"precision": 0.8, "recall": 0.7}, "cvae": {"precision": 0.8, "recall": 0.2},
             "gan": {"precision": 0.5, "recall": 0.9}}
    said = table_in_words(table, {"vae": "vae", "cvae": "cvae", "gan": "gan"})
    assert "vae and cvae share the highest precision at the shown decimals (vae: 0.800)" in said
    assert "the highest recall is gan's (0.900)" in said
    assert "The GAN gan ranks 3rd of 3 on precision (0.500) and 1st of 3 on recall" in said
    assert "real" not in said  # the reference is not a model


def test_precision_recall_names_are_in_the_legend_not_printed_over_each_other():
    rows = {"real images (4,000 train vs 1,000 test)": {"precision": 0.9, "recall": 0.9},
            **{f"model-{k}": {"precision": 0.8, "recall": 0.7} for k in range(12)}}
    fig = precision_recall_figure(rows)
    assert all("text" not in trace.mode for trace in fig.data)
    assert [t.name for t in fig.data] == list(rows) and all(t.showlegend is not False
                                                            for t in fig.data)
    looks = {(t.marker.color, t.marker.symbol) for t in fig.data}
    assert len(looks) == len(rows), "each legend entry can be told apart"


def test_compare_generators_adds_a_run_trained_here_with_2d_codes_and_says_whose(runs):
    """A class's run (here: one copied in, 2-D codes) can be added beside the shipped
    generators: its samples, its scores' row named with whose it is, its point on the chart."""
    cfg = ModelConfig("vae", "mlp", (1, 28, 28), latent_dim=2, hidden=(16,))
    model = build_model(cfg, torch.Generator().manual_seed(0)).eval()
    save_model(model, runs / "ada-z2", {"name": "ada-z2", "dataset": {"name": "mnist-5k"}})
    at = open_page("explorer/ui/pages/generators.py")
    picker = at.multiselect(key="gen_runs")
    assert picker.options == ["runs/ada-z2"]
    picker.set_value(["runs/ada-z2"]).run()
    assert not at.exception, [e.message for e in at.exception]
    row = md("ada-z2 (trained here)")  # a name as typed: Markdown's characters escaped
    assert row in at.main.table[0].value.index
    assert any(row in c for i in at.image for c in i.captions)
