"""A page's short theory: the "What am I looking at?" fold, with a VAE's loss written out and
cited (the ELBO, the β-weighted objective, the Gaussian KL)."""

import streamlit as st

from explorer import families
from explorer.families import ModelConfig


def explain(text: str, cfg: ModelConfig | None = None) -> None:
    """The page's short theory, folded away until wanted; with a VAE, its loss written out."""
    with st.expander("What am I looking at?"):
        st.markdown(text)
        if cfg is not None and families.of(cfg).posterior:
            show_elbo(cfg.beta, cfg.likelihood)


def show_elbo(beta: float, likelihood: str = "bernoulli") -> None:
    st.markdown("The evidence lower bound (ELBO) on each image's log-likelihood (Kingma & Welling "
                "2014, eq. 3), where p(x|z) is a density of the images:")
    st.latex(r"\log p_\theta(x) \;\ge\; \underbrace{\mathbb{E}_{q_\phi(z \mid x)}\big[\log "
             r"p_\theta(x \mid z)\big]}_{-\,\text{distortion}} \;-\; \underbrace{D_{\mathrm{KL}}"
             r"\big(q_\phi(z \mid x)\,\|\,\mathcal{N}(0, I)\big)}_{\text{rate}}")
    if likelihood == "bernoulli":
        st.markdown("This model scores grey pixels with a Bernoulli likelihood, which is not a "
                    "density of grey images: here the right-hand side is a training objective, "
                    "not a bound on anything (its reconstruction cost has a floor above 0). It "
                    "is a bound for a binarized or Gaussian model.")
    st.markdown(f"The first term rewards good reconstructions; the second, the *rate*, pulls every "
                f"code's posterior towards the prior N(0, I). What training minimises is the "
                f"β-weighted objective (Higgins et al. 2017), the negative ELBO only at β = 1; "
                f"this model has **β = {beta:g}**:")
    st.latex(r"\mathcal{L}_\beta = \text{distortion} + \beta \cdot \text{rate}")
    st.markdown("For a Gaussian posterior with mean μ and variance σ² the KL is (Appendix B):")
    st.latex(r"D_{\mathrm{KL}} = \tfrac{1}{2} \sum_{j=1}^{D} \left(\mu_j^2 + \sigma_j^2 "
             r"- \log \sigma_j^2 - 1\right)")
    st.caption("The mean rate over a test set bounds the information the code carries, "
               "I(x; z) ≤ rate; over N images I(x; z) ≤ log N as well (6.9 nats for 1,000).")
