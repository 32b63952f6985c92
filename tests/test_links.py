"""Links that hold the whole view: what a copied link carries, what it never carries, and what
a stale, foreign or hostile link does (the page falls back and says so in one sentence)."""

from urllib.parse import parse_qs, urlsplit

from explorer.ui.parts import url_values

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
