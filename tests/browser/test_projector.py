"""The app on a classroom projector: 1024×768 with the sidebar open, in presenter mode, and on a
wide screen. Every page must draw without an error, keep every choice inside its column with its
whole text, break no word of a label and overlap no pictures; switching models must never leave
a widget with a value it refuses.

Run alone with ``.venv/bin/python -m pytest tests/browser/test_projector.py -q``.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from harness.page import (
    RUN_TIMEOUT_MS,
    TRAIN_FORM,
    box_select,
    fill_train_form,
    open_page,
    wait_idle,
)
from harness.pages import PAGE_PATHS, PRESENTER, PROJECTOR, WIDE_PRESENTER
from tests.browser.helpers import assert_no_errors, choose_model, click_point, layout_problems

pytestmark = pytest.mark.browser


# Every page as it opens, and the tabs that hold the pictures a class looks at longest.
# The map's 3-D and decode-anywhere views on a 16-D model (a 2-D one has no third axis), PCA so
# that no background UMAP keeps the page busy.
Z16 = "model=pretrained/mnist-vae-mlp-z16"
VIEWS = [(path, "") for path in PAGE_PATHS] + [
    ("inside", "inside_tab=Holes"), ("inside", "inside_tab=Holes&holes_compare=true"),
    ("compare", "compare_n=16"),
    ("interpolate", "interp_tab=Along+one+dimension"),
    ("interpolate", "interp_tab=Arithmetic"),
    ("", "map_view=Two+models"),
    ("", "map_colour=one+latent+dimension&map_find=image&map_find_index=3"),
    ("", f"{Z16}&map_view=3-D&map_method=PCA"),
    ("", f"{Z16}&map_view=Decode+anywhere&plane_manifold=true&plane_at=1,0.5")]


@pytest.mark.parametrize(("path", "view"), VIEWS, ids=[f"{p or 'map'}{'-' + v if v else ''}"
                                                      for p, v in VIEWS])
def test_every_page_fits_the_screen(app: Page, server, screen, path, view):
    open_page(app, server, path, query="&".join(q for q in (screen.query, view) if q))
    expect(app.locator("h1").first).to_be_visible()
    assert_no_errors(app)
    if screen.presenting:
        # Presenter mode gives the screen to the pictures: the sidebar starts folded.
        expect(app.locator('[data-testid="stExpandSidebarButton"]')).to_be_visible()
        # and chart text is enlarged like the page's (Streamlit's theme draws ticks at ~13 px)
        # (a 3-D chart has no x axis of the page's kind: its axes live in its scene)
        sizes = app.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
            .filter(g => g._fullLayout).map(g => {
                const x = g._fullLayout.xaxis || g._fullLayout.scene.xaxis;
                return x.showticklabels ? x.tickfont.size : g._fullLayout.font.size; })""")
        assert all(size >= 18 for size in sizes), sizes
    problems = layout_problems(app)
    assert not problems, f"{path} at {screen}: {problems}"


def test_switching_models_keeps_interpolate_working(app: Page, server, screen):
    """Defect 1: the traversal slider kept the last model's value, out of the new one's range."""
    open_page(app, server, "interpolate", model="pretrained/mnist-vae-mlp-z16",
              query=screen.query)
    app.get_by_role("tab", name="Along one dimension").click()
    wait_idle(app, expect_run=True)
    dimension = app.get_by_role("combobox", name="Dimension")
    dimension.click()
    app.get_by_role("option").last.click()
    wait_idle(app, expect_run=True)
    if screen.presenting:  # the sidebar is folded: open it, as a teacher would
        app.locator('[data-testid="stExpandSidebarButton"]').click()
        picker = app.get_by_role("combobox", name="Model")
        picker.scroll_into_view_if_needed()  # under the page list and the picker's groups
        expect(picker).to_be_in_viewport()
    for model in ("pretrained/digits-vae-mlp-z2", "pretrained/mnist-vae-mlp-z2",
                  "pretrained/digits-ae-mlp-z2"):
        choose_model(app, model)
        assert_no_errors(app)
        expect(app.get_by_role("slider").first).to_be_visible()


@pytest.mark.parametrize("tool", [None, "Pan", "Zoom"])
def test_a_click_on_the_map_selects_the_point(app: Page, server, tool):
    """Defect 4: with the lasso (the old default) a click did nothing. Streamlit turns click
    selection off under its box and lasso tools, so those are for groups only."""
    open_page(app, server)
    chart = app.locator('[data-testid="stPlotlyChart"]').first
    expect(chart.locator(".js-plotly-plot")).to_be_visible()
    if tool:
        chart.hover()
        app.locator(f'.modebar-btn[data-title="{tool}"]').first.click()
    click_point(app, 0)
    expect(app.locator('[data-testid="stHeading"]', has_text="1 selected")).to_be_visible()
    assert_no_errors(app)


def test_a_click_between_codes_on_the_plane_decodes_that_point(app: Page, server):
    """Decode anywhere: a click where no code lies (the plane's top right corner, beyond the
    codes) still decodes, through the invisible grid of clickable points under the codes."""
    open_page(app, server, query="map_view=Decode+anywhere")
    plot = app.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
    expect(plot).to_be_visible()
    x, y, x_range, y_range = plot.evaluate("""gd => {
        const L = gd._fullLayout, box = gd.getBoundingClientRect(), X = L.xaxis, Y = L.yaxis;
        const at = (axis, f) => axis._offset + axis.l2p(axis.range[0] + f * (axis.range[1] -
                                                                         axis.range[0]));
        return [box.left + at(X, 0.95), box.top + at(Y, 0.95), X.range, Y.range]; }""")
    app.mouse.move(x, y)
    app.mouse.click(x, y)
    wait_idle(app, expect_run=True)
    printed = app.locator('[data-testid="stMarkdown"]').get_by_text(re.compile(r"z\[0\] = -?[\d.]+, z\[1\] = -?[\d.]+"))
    expect(printed).to_be_visible()
    z0, z1 = (float(v) for v in re.findall(r"= (-?[\d.]+)", printed.inner_text()))
    assert z0 > sum(x_range) / 2 and z1 > sum(y_range) / 2, (z0, z1, x_range, y_range)
    expect(app.locator('[data-testid="stImage"]')).to_have_count(1)
    assert "plane_at=" in app.url  # a shared link decodes the same point
    assert_no_errors(app)


def test_interpolate_from_the_map_opens_the_pair_of_two_classes(app: Page, server):
    """Defect 5: the button opened whichever Interpolate tab was last used, and after a box it
    took two images of one class. (Click order is kept by mapview.in_click_order, unit-tested.)"""
    open_page(app, server, "interpolate")
    app.get_by_role("tab", name="Along one dimension").click()  # the tab last used
    wait_idle(app, expect_run=True)
    open_page(app, server)
    expect(app.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first).to_be_visible()
    box_select(app)
    button = app.get_by_role("button", name=re.compile(r"Interpolate between #\d+ and #\d+"))
    expect(button).to_be_visible()
    first, second = re.findall(r"#(\d+)", button.inner_text())
    button.click()
    wait_idle(app, expect_run=True)
    expect(app.get_by_role("tab", name="Between two images")).to_have_attribute(
        "aria-selected", "true")
    start = app.locator('[data-testid="stImageCaption"]', has_text=f"#{first} · ")
    end = app.locator('[data-testid="stImageCaption"]', has_text=f"#{second} · ")
    expect(start).to_be_visible()
    expect(end).to_be_visible()
    assert start.inner_text().split("·")[1] != end.inner_text().split("·")[1], "one class"
    assert_no_errors(app)


def test_the_heat_maps_zero_is_the_scales_dark_end(app: Page, server):
    """Defect 6: Streamlit's chart theme swapped magma's dark end (#000004, one of its
    placeholder colours) for pink."""
    open_page(app, server, "compare")
    chart = app.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').last
    expect(chart).to_be_visible()
    low = chart.evaluate("gd => gd._fullLayout.coloraxis.colorscale[0][1]")
    assert low.replace(" ", "") == "rgb(0,0,4)", low


def test_the_beta_lesson_opens_train_with_digits_and_beta_20(app: Page, server):
    """Defect 8: it opened Train with the defaults (MNIST, β = 1)."""
    open_page(app, server, "lessons")
    app.locator(".st-key-lesson_card_posterior-collapse").get_by_text("The 3 steps").click()
    app.get_by_role("button", name="3. Train a VAE with β = 20").click()
    wait_idle(app, expect_run=True)
    form = app.locator(TRAIN_FORM)
    # The step's values reach the form in the page's run after the switch: waited for.
    expect(form.get_by_role("combobox", name="Dataset")).to_have_value("Digits 8×8",
                                                                       timeout=30_000)
    expect(form.get_by_label("β (VAE)", exact=True)).to_have_value("20", timeout=30_000)


def test_the_train_form_remembers_and_explains_a_huge_learning_rate(app: Page, server):
    """Defects 9 and 10."""
    from harness.page import fill_train_form, go_to

    open_page(app, server, "train")
    form = fill_train_form(app, "Digits 8×8", {"Learning rate": 1000, "Epochs": 3})
    form.get_by_role("button", name="Train").click()
    expect(app.locator('[data-testid="stAlertContentError"]')).to_contain_text(
        "Learning rate must be above 0 and at most 100")
    go_to(app, "Sample")
    go_to(app, "Train")
    expect(form.get_by_role("combobox", name="Dataset")).to_have_value("Digits 8×8")
    expect(form.get_by_label("Epochs", exact=True)).to_have_value("3")


@pytest.mark.parametrize("size", [PRESENTER, WIDE_PRESENTER, PROJECTOR],
                         ids=["projector", "wide", "sidebar"])
def test_pressing_train_keeps_the_live_run_in_sight(app: Page, server, size):
    """Presenter mode: the form is a column taller than the screen, and its Train button at the
    foot; the progress, the curves and the reconstructions a teacher then talks over were drawn
    beside the form's top, some 1,100 px above, out of sight."""
    app.set_viewport_size(size.viewport)
    open_page(app, server, "train", query=size.query)
    form = fill_train_form(app, "Digits 8×8", {"Epochs": 500, "Batch size": 8})
    train = form.get_by_role("button", name="Train")
    # A student who scrolled down the form, the Train button at the top of the screen: the run,
    # drawn beside the form's top, was above the screen; pressing Train brings it into view.
    train.evaluate("el => el.scrollIntoView({block: 'start'})")
    train.click()
    bar, stop = app.locator('[data-testid="stProgress"]'), app.get_by_role("button", name="Stop")
    curves = app.locator('[data-testid="stPlotlyChart"]').first
    expect(curves).to_be_visible(timeout=RUN_TIMEOUT_MS)  # drawn after the first steps
    wait_idle(app)
    expect(bar).to_be_in_viewport(ratio=1)
    expect(stop).to_be_in_viewport(ratio=1)
    expect(curves).to_be_in_viewport(ratio=0.5)
    if size.presenting:  # the run is the whole page; beside the form, the pictures come next
        expect(app.locator('[data-testid="stImageContainer"]').first).to_be_in_viewport()
    assert_no_errors(app)
    stop.click()
    expect(app.locator('[data-testid="stAlertContentInfo"]')).to_contain_text(
        "Stopped", timeout=RUN_TIMEOUT_MS)
    # The run over, the form is back for the next one.
    expect(app.locator(TRAIN_FORM)).to_be_visible()


@pytest.mark.parametrize("size", [PROJECTOR, PRESENTER], ids=["sidebar", "presenting"])
def test_a_student_fills_the_train_form_on_one_screen(app: Page, server, size):
    """The form was 14 fields with the Train button ~2.5 screens down: now the dataset, the model
    type, the code size, β, the epochs and a name, with Train under them on the first screen, the
    rest folded under "Advanced"; a setting that does not apply to the type is not shown."""
    app.set_viewport_size(size.viewport)
    open_page(app, server, "train", query=size.query)
    form = app.locator(TRAIN_FORM)
    expect(form.get_by_role("button", name="Train")).to_be_in_viewport(ratio=1)
    for label in ("Code size", "β (VAE)", "Epochs", "Run name"):
        expect(form.get_by_label(label, exact=True)).to_be_in_viewport(ratio=1)
    expect(form.get_by_label("Learning rate", exact=True)).to_be_hidden()  # under "Advanced"
    form.locator('[data-testid="stButtonGroup"] button', has_text="AE").first.click()
    wait_idle(app, expect_run=True)
    expect(form.get_by_label("β (VAE)", exact=True)).to_have_count(0)
    # Too few learning steps are said before Train is pressed, with the epochs that are enough.
    fill_train_form(app, "Digits 8×8", {"Epochs": 5})
    wait_idle(app, expect_run=True)
    warning = form.locator('[data-testid="stAlertContentWarning"]')
    expect(warning).to_contain_text("Only 60 learning steps")
    expect(warning).to_contain_text("42 epochs")
    expect(warning).to_be_in_viewport()  # right under the button
    expect(form.get_by_role("button", name="Train")).to_be_in_viewport(ratio=1)
    assert not layout_problems(app)


@pytest.mark.parametrize("query", ["", f"{Z16}&map_method=PCA"], ids=["2-D", "16-D"])
def test_in_presenter_mode_the_map_takes_the_screen(app: Page, server, query):
    """On a 1024×768 projector the map started some 450 px down, behind three rows of
    controls, 560 px tall with points 5 px across: most of it below the screen, its points too
    small for the back of the room. (Its legend's scrollbar is a layout problem, above.)"""
    app.set_viewport_size(PRESENTER.viewport)
    open_page(app, server, query="&".join(q for q in (PRESENTER.query, query) if q))
    plot = app.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
    expect(plot).to_be_visible()
    top, height, sizes = plot.evaluate("""gd => [gd.getBoundingClientRect().top,
        gd._fullLayout.height, gd._fullData.map(t => t.marker.size)]""")
    assert top <= PRESENTER.height / 2, f"the map starts {top:.0f} px down"
    assert height >= 0.75 * PRESENTER.height, f"the map is {height} px tall"
    assert min(sizes) >= 7, f"points of {sizes} px"
    assert not layout_problems(app)


def test_the_model_card_fits_the_sidebar(app: Page, server, screen):
    """Defect 13: the card's table ran off the sidebar ("learni")."""
    if screen.presenting:
        pytest.skip("the sidebar is folded in presenter mode")
    open_page(app, server, "sample", query=screen.query)
    sidebar = app.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Model card").click()
    table = sidebar.locator('[data-testid="stTable"]')
    expect(table).to_contain_text("learning rate")
    table_box, side_box = table.bounding_box(), sidebar.bounding_box()
    assert table_box["x"] + table_box["width"] <= side_box["x"] + side_box["width"], table_box
    assert table.evaluate("e => e.scrollWidth <= e.clientWidth + 1")


def test_on_a_projector_the_presenter_switch_is_on_the_first_screen(app: Page, server):
    """Issue 26, item 5: the toggle sat below the sidebar's fold at 1024×768."""
    app.set_viewport_size(PROJECTOR.viewport)
    open_page(app, server, "lessons")
    expect(app.locator('[data-testid="stSidebar"]').get_by_text("Presenter mode")) \
        .to_be_in_viewport(ratio=1)


# -- issue 26: one screen at 1024×768 presenting ------------------------------------------------
# A plotly figure's boxes on screen: the plot area, the legend (null when it has none), the
# y axis's title and the whole figure; and its legend's rows (distinct tops of its entries).
FIGURE_BOXES_JS = """gd => {
    const box = e => { if (!e) return null; const r = e.getBoundingClientRect();
        return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; };
    const svg = box(gd.querySelector('.main-svg')), s = gd._fullLayout._size;
    const plot = {left: svg.left + s.l, top: svg.top + s.t, right: svg.left + s.l + s.w,
                  bottom: svg.top + s.t + s.h};
    const tops = [...gd.querySelectorAll('.legend .traces')]
        .map(e => Math.round(e.getBoundingClientRect().top));
    return {plot, svg, legend: box(gd.querySelector('.legend .bg')),
            ytitle: box(gd.querySelector('.g-ytitle')), rows: new Set(tops).size}; }"""


def figure_boxes(plot) -> dict:
    return plot.evaluate(FIGURE_BOXES_JS)


def overlap(a: dict, b: dict) -> float:
    """The area two boxes share, px²."""
    w = min(a["right"], b["right"]) - max(a["left"], b["left"])
    h = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
    return max(0.0, w) * max(0.0, h)


def test_presenting_a_click_on_the_map_shows_its_images_beside_it(app: Page, server):
    """Item 1: the clicked image, its reconstruction and its neighbours were two screens below
    the map. Now, with the map's top at the screen's top, all of them are on the screen with it."""
    app.set_viewport_size(PRESENTER.viewport)
    open_page(app, server, query=PRESENTER.query)
    chart = app.locator('[data-testid="stPlotlyChart"]').first
    expect(chart.locator(".js-plotly-plot")).to_be_visible()
    chart.evaluate("e => e.scrollIntoView({block: 'start'})")  # the point may lie below the fold
    click_point(app, 0)
    expect(app.get_by_role("heading", name="Nearest to #")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    wait_idle(app)
    chart.evaluate("e => e.scrollIntoView({block: 'start'})")
    expect(chart).to_be_in_viewport(ratio=0.95)
    images = app.locator('[data-testid="stImageContainer"]')
    assert images.count() >= 2 + 16  # the original, its reconstruction, 8 + 8 neighbours
    for k in range(images.count()):
        expect(images.nth(k)).to_be_in_viewport(ratio=1)
    assert not layout_problems(app)


@pytest.mark.parametrize("size", [PRESENTER, PROJECTOR], ids=["presenting", "sidebar"])
def test_the_rate_distortion_legend_stands_above_a_plot_of_sensible_height(app: Page, server,
                                                                           size):
    """Item 5: the legend took four lines, leaving a ~280 px plot whose top label was clipped."""
    app.set_viewport_size(size.viewport)
    open_page(app, server, "rate-distortion", query=size.query)
    plot = app.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
    expect(plot).to_be_visible()
    boxes = figure_boxes(plot)
    assert boxes["legend"] and overlap(boxes["legend"], boxes["plot"]) == 0, boxes
    assert boxes["rows"] <= 2, f"a legend of {boxes['rows']} lines"
    assert boxes["plot"]["bottom"] - boxes["plot"]["top"] >= 340, boxes["plot"]
    title, svg = boxes["ytitle"], boxes["svg"]
    assert title["top"] >= svg["top"] - 1 and title["bottom"] <= svg["bottom"] + 1, (title, svg)


def test_presenting_decode_anywhere_has_a_large_plane_with_its_legend_above(app: Page, server):
    """Item 3: the plane was ~330 px wide with its legend in the middle of the row, between the
    plane and the decoded image."""
    app.set_viewport_size(PRESENTER.viewport)
    open_page(app, server, query=f"{PRESENTER.query}&map_view=Decode+anywhere")
    plot = app.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
    expect(plot).to_be_visible()
    boxes = figure_boxes(plot)
    assert boxes["legend"]["bottom"] <= boxes["plot"]["top"] + 1, boxes  # above, not beside
    assert boxes["plot"]["right"] - boxes["plot"]["left"] >= 480, boxes["plot"]
    assert not layout_problems(app)


def test_presenting_the_ae_and_the_vae_holes_share_axes_one_above_the_other(app: Page, server):
    """Item 2: each map ~260 px wide, digits ~12 px, the AE's axes (−25…5) and the VAE's (−4…4)
    drawn the same size, the prior's rings nearly invisible on the AE."""
    app.set_viewport_size(PRESENTER.viewport)
    open_page(app, server, "inside", query=f"{PRESENTER.query}&inside_tab=Holes"
                                           "&holes_compare=true")
    plots = app.locator('[data-testid="stPlotlyChart"] .js-plotly-plot')
    expect(plots).to_have_count(2)
    ae, vae = (figure_boxes(plots.nth(k)) for k in range(2))
    assert vae["svg"]["top"] >= ae["svg"]["bottom"] - 1, "one above the other"
    ranges = [plots.nth(k).evaluate("gd => [gd._fullLayout.xaxis.range, gd._fullLayout.yaxis"
                                    ".range]") for k in range(2)]
    flat = [[v for axis in r for v in axis] for r in ranges]
    assert flat[0] == pytest.approx(flat[1]), ranges  # the same stretch of the plane
    n = int(app.locator('.st-key-holes_n [data-testid="stSliderThumbValue"]').inner_text())
    for boxes in (ae, vae):
        tile = (boxes["plot"]["right"] - boxes["plot"]["left"]) / n
        assert tile >= 36, f"decoded digits {tile:.0f} px wide"
        assert overlap(boxes["legend"], boxes["plot"]) == 0, boxes
    for k in range(2):  # the prior's rings: drawn, thick, on the AE's wide plane too
        widths = plots.nth(k).evaluate("""gd => gd._fullData
            .filter(t => (t.name || '').startsWith('prior')).map(t => t.line.width)""")
        assert len(widths) == 3 and min(widths) >= 3, widths
    app.get_by_text("One above the other").click()  # side by side, still on shared axes
    wait_idle(app, expect_run=True)
    ae, vae = (figure_boxes(plots.nth(k)) for k in range(2))
    assert abs(ae["svg"]["top"] - vae["svg"]["top"]) < 2 and vae["svg"]["left"] > ae["svg"]["right"]
    assert_no_errors(app)


@pytest.mark.parametrize("size", [PROJECTOR, PRESENTER], ids=["sidebar", "presenting"])
def test_the_model_type_buttons_stay_on_one_row(app: Page, server, size):
    """Item 5: "GAN" wrapped alone onto a second row with the sidebar open."""
    app.set_viewport_size(size.viewport)
    open_page(app, server, "train", query=size.query)
    buttons = app.locator(TRAIN_FORM).locator('[data-testid="stButtonGroup"]').first \
        .locator("button")
    expect(buttons.first).to_be_visible()
    kinds = [buttons.nth(k) for k in range(buttons.count()) if buttons.nth(k).inner_text()]
    # not the help icon; "Latent diffusion" (a prior over a run's codes) is offered where there
    # is an AE or VAE to build on: the shipped ones, for the default dataset
    assert [b.inner_text() for b in kinds] == ["AE", "VAE", "CVAE", "GAN", "Latent diffusion"]
    boxes = [b.bounding_box() for b in kinds]
    tops = {round(b["y"]) for b in boxes}
    assert len(tops) == 1, f"the model types wrap over {len(tops)} rows"
    form = app.locator(TRAIN_FORM).bounding_box()
    assert boxes[-1]["x"] + boxes[-1]["width"] <= form["x"] + form["width"], \
        "the last model type runs past the form's edge"


def test_the_2d_grid_says_what_it_shows_across_the_page(app: Page, server):
    """Item 5: "Over a 2-D grid" squeezed its text into ~230 px (the first of four columns)."""
    app.set_viewport_size(PROJECTOR.viewport)
    open_page(app, server, "interpolate", query="interp_tab=Over+a+2-D+grid")
    caption = app.locator('[data-testid="stCaptionContainer"]',
                          has_text="latent space is 2-D: the grid decodes")
    expect(caption).to_be_visible()
    assert caption.bounding_box()["width"] >= 450, caption.bounding_box()
