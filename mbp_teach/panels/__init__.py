"""The machinery behind every slider panel (each part's panels live in its own ``panels`` module).

- ``base``: ``Panel`` (controls + one figure; ``update(**values)`` changes artists, a test can call
  it without a browser), ``Blitter`` (redraw only the moved artists), ``on_grid``, ``PanelBox``;
- ``redraw``: redraw-time savers for live figures (unhinted text, plain log ticks, fixed label
  positions).
"""
