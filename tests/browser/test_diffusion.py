"""The Latent diffusion page in a real browser, on the shipped 2-D autoencoder and its shipped
prior: the movie plays, the t slider moves the samples, a click on a sample follows its
trajectory; on the wide screen and at 1024×768 presenting.

Run alone with ``.venv/bin/python -m pytest tests/browser/test_diffusion.py -q``.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from harness.page import ERRORS, open_page, wait_idle
from harness.pages import PRESENTER, WIDE

pytestmark = pytest.mark.browser

CHARTS = '[data-testid="stPlotlyChart"] .js-plotly-plot'
# The x of the moving samples (the movie's last trace) and the movie slider's active step.
MOVIE_JS = """() => { const gd = document.querySelectorAll('CHARTS')[0];
    const t = gd._fullData[gd._fullData.length - 1];
    return {x0: t.x[0], active: gd._fullLayout.sliders[0].active}; }""".replace("CHARTS", CHARTS)
# The moment chart's traces by name, and where sample `i` of its samples trace is on screen.
MOMENT_JS = """i => { const gd = document.querySelectorAll('CHARTS')[1];
    const names = gd._fullData.map(t => t.name);
    const s = gd._fullData.find(t => (t.name || '').startsWith('samples at'));
    const L = gd._fullLayout, box = gd.getBoundingClientRect();
    const px = box.left + L._size.l + L.xaxis.l2p(s.x[i]);
    const py = box.top + L._size.t + L.yaxis.l2p(s.y[i]);
    const f = gd._fullData.find(t => t.name === 'followed sample');
    return {names, px, py, followed: f ? [f.x[f.x.length - 1], f.y[f.y.length - 1]] : null,
            point: [s.x[i], s.y[i]]}; }""".replace("CHARTS", CHARTS)


@pytest.mark.parametrize("screen", [WIDE, PRESENTER], ids=["wide", "presenter"])
def test_the_movie_plays_t_moves_and_a_click_follows_a_sample(app: Page, server, screen):
    app.set_viewport_size(screen.viewport)
    open_page(app, server, "latent-diffusion", model="pretrained/mnist-ae-mlp-z2",
              query=screen.query)
    expect(app.locator(CHARTS)).to_have_count(2)
    expect(app.locator(ERRORS)).to_have_count(0)

    # Play: the samples move and the slider's t advances, frame by frame, in the browser
    app.locator(CHARTS).first.scroll_into_view_if_needed()
    before = app.evaluate(MOVIE_JS)
    app.locator(CHARTS).first.get_by_text("▶ Play").click()
    app.wait_for_function(f"""() => {{ const now = ({MOVIE_JS})();
        return now.active > 1 && now.x0 !== {before['x0']}; }}""", timeout=30_000)

    # The t slider: its last value is t = 0, the codes themselves
    slider = app.get_by_role("slider", name="t (timestep)")
    slider.scroll_into_view_if_needed()
    slider.focus()
    slider.press("End")
    wait_idle(app, expect_run=True)
    expect(app.get_by_text(re.compile(r"The samples at t = 0;"))).to_be_visible()
    assert "samples at t = 0" in app.evaluate(MOMENT_JS, 0)["names"]

    # A click on a sample follows it: its path ends on the clicked point, its strip is shown
    expect(app.get_by_role("heading", name=re.compile(r"Sample #0, step by step"))).to_be_visible()
    app.locator(CHARTS).nth(1).scroll_into_view_if_needed()
    target = app.evaluate(MOMENT_JS, 1234)
    app.mouse.click(target["px"], target["py"])
    wait_idle(app, expect_run=True)
    heading = app.get_by_role("heading", name=re.compile(r"Sample #\d+, step by step"))
    expect(heading).not_to_have_text(re.compile(r"Sample #0,"))
    assert "ld_follow=" in app.url
    followed = app.evaluate(MOMENT_JS, 0)["followed"]
    chosen = int(re.search(r"#(\d+)", heading.inner_text()).group(1))
    assert followed == pytest.approx(app.evaluate(MOMENT_JS, chosen)["point"], abs=1e-4)
    expect(app.locator(ERRORS)).to_have_count(0)
