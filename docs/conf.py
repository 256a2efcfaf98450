"""Sphinx configuration of the documentation site (built by tools/build_docs.py from a staged copy of nbs/).

Everything the site needs is installed from PyPI and served from the site itself: the furo theme uses
system fonts, MathJax is the copy bundled by sphinx-mathjax-offline, and no ipywidgets JavaScript is
loaded (the widget outputs are dropped before rendering; their text fallback is shown).
"""
project = "wormsae"
author = "wormsae developers"
copyright = "2026 onwards, wormsae developers"

extensions = ["myst_nb", "sphinx-mathjax-offline"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# notebooks arrive executed (tutorials) or deliberately unexecuted (chapters, workshop): never run them here
nb_execution_mode = "off"
nb_ipywidgets_js = {}  # no require.js or widget manager from a CDN
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = "wormsae"
html_static_path = ["_static"]
html_css_files = ["wormsae.css"]
html_show_sourcelink = False
html_copy_source = False
html_theme_options = {"navigation_with_keys": True}
suppress_warnings = ["myst.header"]
