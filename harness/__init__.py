"""Drives the real app from outside, for the browser tests, the benchmarks and the screenshot
script: start ``streamlit run`` on a free port (:mod:`harness.app_server`), launch Debian's
Chromium (:mod:`harness.chromium`) and wait for Streamlit to settle (:mod:`harness.page`)."""
