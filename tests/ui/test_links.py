"""Links that hold the whole view: what a copied link carries, what it never carries, and what
a stale, foreign or hostile link does (the page falls back and says so in one sentence)."""

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from explorer.ui.parts import share, url_values

SECRETS = {"present": "true", "code": "K7Q2PX", "token": "s3cret-student-token",
           "key": "teacher-key", "teacher_key": "teacher-key", "student": "alice"}


def test_a_link_carries_the_view_and_never_identity_teacher_key_or_presenter_mode():
    query = {"model": "pretrained/mnist-vae-mlp-z2", "interp_a": "3", "interp_b": "103",
             "interp_t": "0.3", **SECRETS}
    link = url_values.link_of("interpolate", query, "http://school:8000/app/map")
    url = urlsplit(link)
    assert (url.netloc, url.path) == ("school:8000", "/app/interpolate")
    assert parse_qs(url.query) == {"model": ["pretrained/mnist-vae-mlp-z2"], "interp_a": ["3"],
                                   "interp_b": ["103"], "interp_t": ["0.3"]}
    for secret in ("K7Q2PX", "s3cret", "teacher-key", "alice", "present"):
        assert secret not in link


def test_a_link_keeps_only_its_own_page_s_settings_and_no_pasted_blob():
    query = {"model": "m", "interp_t": "0.3", "temperature": "1.5", "map_sel": "x" * 5000}
    assert url_values.link_params("sample", query) == {"model": "m", "temperature": "1.5"}
    assert url_values.link_params("map", query) == {"model": "m"}



def test_a_selection_of_a_few_keeps_its_order_and_a_large_one_fits_a_qr_code():
    assert url_values.selection_text([103, 3]) == "103,3"
    assert url_values.parse_selection("103,3", 1000) == ([103, 3], 0)
    lasso = list(range(0, 1000, 3)) + [998]  # 335 images
    text = url_values.selection_text(lasso[::-1])
    assert len(text) <= 170
    assert url_values.parse_selection(text, 1000) == (sorted(lasso), 0)
    assert url_values.parse_selection(text, 500) == ([i for i in lasso if i < 500],
                                                     sum(i >= 500 for i in lasso))
    assert url_values.parse_selection("~not base64!", 1000) == ([], 1)

# -- opened in the app (AppTest: no browser, no server) ----------------------------------------
ROOT = Path(__file__).resolve().parents[2]
Z2 = "pretrained/mnist-vae-mlp-z2"


def opened(query: dict[str, str], page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params.update(query)
    if page is not None:  # the link opens on that page: its first run is the page's
        at.switch_page(f"explorer/ui/pages/{page}.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def notes(at: AppTest) -> list[str]:
    return [i.value for i in at.info if i.icon == ":material/link_off:"]


def shared_link(at: AppTest) -> str:
    """The link "Share this view" shows once opened (opening it reruns the app)."""
    at.session_state[share.KEY] = True
    at.run()
    (link,) = [c.value for c in at.code if c.value.startswith("http")]
    at.session_state[share.KEY] = False
    return link


def test_the_map_s_selection_is_in_the_link_and_interpolate_opens_on_its_pair(runs):
    at = opened({"model": Z2, "map_sel": "3,103"})
    assert "map_sel=3,103" in shared_link(at)
    assert not notes(at)
    (button,) = [b for b in at.button if b.label == "Interpolate between #3 and #103"]
    button.click().run()
    at.run()  # the callback asks for the page; the next run switches
    assert [t.value for t in at.title] == ["Interpolate"]
    assert (at.number_input(key="interp_a").value, at.number_input(key="interp_b").value) == (3, 103)
    assert at.query_params["interp_a"] == "3" and at.query_params["interp_b"] == "103"
    link = shared_link(at)
    assert "/interpolate?" in link and "interp_a=3" in link and "interp_b=103" in link
    assert f"model={Z2}" in link


def test_the_link_names_the_model_even_when_it_is_the_default(runs):
    at = opened({})
    model = at.selectbox(key="model").value
    assert at.query_params["model"] == model
    assert f"model={model}" in shared_link(at)


def test_a_model_no_longer_here_falls_back_to_the_default_in_one_sentence(runs):
    at = opened({"model": "runs/deleted-last-week"})
    assert at.selectbox(key="model").value.startswith("pretrained/")
    (sentence,) = notes(at)
    assert "runs/deleted-last-week" in sentence and "is not on this server" in sentence


def test_a_selection_beyond_the_data_is_left_out_in_one_sentence(runs):
    at = opened({"model": Z2, "map_sel": "3,1000000,-1,x"})
    (sentence,) = notes(at)
    assert sentence.startswith("3 of the images this link selects are not among")
    assert at.query_params["map_sel"] == "3"
    assert [h.value for h in at.subheader if "selected" in h.value or "#3" in h.value]


def test_an_image_beyond_the_test_set_falls_back_in_one_sentence(runs):
    at = opened({"model": Z2, "interp_a": "5000"}, "interpolate")
    assert at.number_input(key="interp_a").value < 1000
    (sentence,) = notes(at)
    assert "interp\\_a" in sentence or "interp_a" in sentence


def test_foreign_keys_and_a_pasted_blob_are_dropped_in_one_sentence(runs):
    at = opened({"model": Z2, "utm_source": "mail", "temperature": "1.5",
                 "sample_seed": "9" * 200_000}, "sample")
    (sentence,) = notes(at)
    assert "utm" in sentence and "sample" in sentence
    assert "utm_source" not in at.query_params and "sample_seed" not in at.query_params
    assert at.slider(key="temperature").value == 1.5  # the rest of the link still holds
    assert len(shared_link(at)) < 200


def test_a_1_mb_query_opens_the_page_at_its_defaults(runs):
    # Streamlit itself ignores a query string over 512 KiB: the page opens as if it had none.
    at = opened({"temperature": "1.5", "utm": "x" * 1_000_000}, "sample")
    assert at.slider(key="temperature").value == 1.0
    assert at.selectbox(key="model").value.startswith("pretrained/")
    assert len(shared_link(at)) < 200


HOSTILE = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
           "[click](http://evil.example)", "**bold** _it_ :red[x]"]


@pytest.mark.parametrize("text", HOSTILE)
def test_markup_in_a_link_is_shown_as_text_never_rendered(text, runs):
    at = opened({"model": text, text: text, "map_find": "class", "map_find_class": text})
    said = notes(at)
    assert len(said) == 3  # the unknown key, the unknown model, the class no model has
    for sentence in said:  # Markdown shows an escaped character as itself, never as markup
        bare = re.sub(r"\\.", "", sentence)  # what is left once escaped characters go
        assert not re.search(r"[<>\[\]*`]", bare), sentence
    assert all(not m.value or "<" not in m.value for m in at.markdown if m.allow_html)
    assert text not in shared_link(at)


@pytest.mark.parametrize(("page_name", "query"), [("sample", {"sample_seed": "1e400"}),
                                                  ("generators", {"gen_seed": "1e400"}),
                                                  ("interpolate", {"interp_a": "1e400"})])
def test_a_hostile_value_opened_directly_on_its_page_falls_back(page_name, query, runs):
    at = opened({"model": Z2, **query}, page_name)  # the page's first run is the link's
    (key,) = query
    assert at.number_input(key=key).value != float(query[key])
    assert notes(at)


def test_other_images_on_the_uncertainty_tab_are_in_the_link(runs):
    at = opened({"model": Z2, "inside_tab": "Uncertainty"}, "inside")
    at.button(key="unc_roll").click().run()
    at.button(key="unc_roll").click().run()
    assert at.query_params["unc_seed"] == "2"
    assert "unc_seed=2" in shared_link(at)


def test_a_teacher_s_or_a_student_s_link_never_holds_who_they_are(runs):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state["_class_token"] = "s3cret-student-token"  # class_parts' session keys
    at.session_state["_teacher_key"] = "teacher-key-123"
    at.query_params.update({"model": Z2, "temperature": "1.5", **SECRETS})
    at.switch_page("explorer/ui/pages/sample.py")
    at.run()
    assert not at.exception
    link = shared_link(at)
    assert parse_qs(urlsplit(link).query) == {"model": [Z2], "temperature": ["1.5"]}
    for secret in ("s3cret", "teacher-key", "K7Q2PX", "alice", "present"):
        assert secret not in link


def test_two_maps_ring_a_link_s_selection_and_keep_it_in_the_link(runs):
    at = opened({"model": Z2, "map_view": "Two models", "map_other": "pretrained/mnist-ae-mlp-z2",
                 "map_sel": "3,103"})
    assert any(h.value.startswith("2 selected") for h in at.subheader), \
        [h.value for h in at.subheader]
    assert "map_sel=3,103" in shared_link(at)
