"""wfkit in Jupyter: the ``%wf`` magic, the connections registry it shares with widgets and plain Python, the
ipywidgets, rich HTML reprs (Jinja templates, autoescaped) and plots.

Nothing here is imported by ``import wfkit``: IPython, ipywidgets and matplotlib load when first used.
"""
