"""Rate & distortion: every model of the current dataset on the rate–distortion plane (Alemi et al.
2018), so β's effect is a walk along one curve. Clicking a model makes it the sidebar's model, on
every page. The numbers are in :mod:`explorer.analysis.rdplane`, the figure in
:mod:`explorer.figures.compare`.
"""

import pandas as pd
import streamlit as st

from explorer import analysis, classroom, families, usertext
from explorer.figures import compare as figures_compare
from explorer.ui.parts import class_parts, common, export_buttons, page_start
from explorer.ui.parts.prior_beside import with_learned_prior

CHART = "rd_chart"


@st.cache_data(max_entries=64, show_spinner="Measuring rate and distortion on the test set…")
def point_of(entry_id: str, name: str, path: str, content_hash: str, dataset: str,
             card: dict) -> analysis.RDPoint:
    model = common.get_model(path, content_hash)
    numbers = analysis.rd_measure(model, card, common.get_dataset(dataset).x_test)
    return analysis.rd_point(entry_id, name, model, numbers)


def choose_clicked() -> None:
    """on_select: the clicked model becomes the sidebar's model (set before the sidebar draws)."""
    points = st.session_state[CHART].selection.get("points", [])
    ids = [p.get("customdata") for p in points if isinstance(p.get("customdata"), str)]
    if ids:
        st.session_state["model"] = ids[0]


cur = page_start.start_page("Rate and distortion")
entries, _ = common.list_entries()
# The plane is the (unconditional) autoencoders': a GAN has no encoder, a CVAE's code is given
# its class, so neither has a rate comparable with these.
here = [e for e in entries if e.dataset == cur.entry.dataset
        and families.of(e).can("encode") and not families.of(e).conditional]
# A VAE's card carries its point: only the others' models are loaded and measured.
points = [analysis.point_from_card(e.id, e.name, e.config, e.card.get("metrics", {}))
          or point_of(e.id, e.name, str(e.path), e.card.get("content_hash", ""), e.dataset,
                      {"metrics": e.card.get("metrics", {}), "seed": e.card.get("seed", 0)})
          for e in here]
likelihoods = sorted({p.likelihood for p in points})
default = cur.entry.config.likelihood
likelihood = st.segmented_control(
    "Likelihood", likelihoods, default=default if default in likelihoods else likelihoods[0],
    key="rd_likelihood", required=True, bind="query-params",
    help="Distortions under different likelihoods are in different units: one plane each.")
shown = [p for p in points if p.likelihood == likelihood]
# Whose each run is: a classmate's name, "you", or the run's own name outside a class. Runs are
# their own points in their owner's colour, never points of a shipped β sweep.
owner = {c.id: {classroom.PICK_MINE: "you", classroom.PICK_CLASS: c.owner}.get(c.group, "")
         for cs in classroom.picker_choices(entries, *class_parts.picker_context()).values()
         for c in cs
         if c.group != classroom.PICK_SHIPPED}
# Presenting: a taller figure, so that the plot keeps a sensible height under its legend (above
# it, in one or two lines) once the text is enlarged.
figure = common.chart_style(figures_compare.rate_distortion_figure(
    shown, current=cur.entry.id, owners=owner, height=620 if common.presenting() else 520))
if common.presenting():  # seven entries in two lines above the plot, not three or four
    figure.update_layout(legend_font_size=18)
export_buttons.chart(figure, key=CHART, name=cur.entry.name,
                     settings=["rate and distortion", f"{cur.entry.dataset}",
                               f"{likelihood} likelihood"],
                     on_select=choose_clicked, selection_mode="points")
st.caption("Each VAE sits at its **rate** (how much its code carries: the mean KL, "
           "R = KL(q(z|x) ‖ p(z)), an upper bound on the information in the code) and "
           "**distortion** (how badly it rebuilds: D = E_q[−log p(x|z)]), both mean nats per "
           "test image; its −ELBO is their sum, so "
           "every grey diagonal is one value of the ELBO and lower-left is better. Training with β "
           "lands where the best reachable curve has slope −β: β > 1 trades rate for distortion, "
           "β < 1 the reverse; the red line is slope −1 through the best −ELBO here. Runs trained "
           "here are points of their own, named after whoever trained them, never joined to a "
           "shipped sweep. "
           "Autoencoders have a deterministic code, so their rate is unbounded: they sit at the "
           "right edge. Hover for the model; click one to open it on every page.")
floor = min((p.floor for p in shown), default=0.0)
if likelihood == "bernoulli":
    st.caption(f"The dashed floor ({floor:.1f} nats) is the images' own entropy Σ H(x): grey "
               "pixels are not 0/1 outcomes, so no decoder's Bernoulli cost can go below it, and "
               "this −ELBO is no bound on −log p(x). A binarized model's floor is 0.")
elif likelihood == "gaussian":
    st.caption(f"The dashed floor ({floor:.1f} nats) is the fixed-variance (½) Gaussian's "
               "constant, reached only by a perfect reconstruction.")
NATS = "nats per image"
rows = [{"model": p.name, "trained by": "shipped" if p.id.startswith("pretrained/") else
         usertext.md(owner.get(p.id) or "here", 40), "β": p.beta if p.rate is not None else None,
         f"rate, {NATS}": p.rate, f"distortion, {NATS}": p.distortion,
         f"−ELBO, {NATS}": p.neg_elbo, f"floor, {NATS}": p.floor}
        for p in sorted(shown, key=lambda p: (p.kind, p.beta))]
# A static table: st.dataframe prints "None" in an empty cell whatever the Styler says.
st.table(pd.DataFrame(rows).style.format(precision=2, na_rep="—")
         .format("{:g}", subset=["β"], na_rep="—"), hide_index=True)
if any(p.rate is None for p in shown):
    st.caption("— : an autoencoder has no rate, hence no β and no −ELBO: its code is one point, "
               "not a posterior q(z|x) to measure a KL against the prior.")
# Its models as generators: each with its own prior and with a learned prior over its codes.
with_learned_prior([e for e in here if e.id in {p.id for p in shown}], cur)
