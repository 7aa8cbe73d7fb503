"""Altair charts, one module per view: common (labels, export), head_view, heatmap, model_view,
head_grid, token_bars, layer_lines. Pages call these; no page builds an alt.Chart itself."""
