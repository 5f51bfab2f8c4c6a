"""Pictures for people: projection overlays."""

from vp2p_ros.viz.overlay import depth_colors, draw_projection, label, save_png, stack_vertical

__all__ = ["depth_colors", "draw_projection", "label", "save_png", "stack_vertical"]
