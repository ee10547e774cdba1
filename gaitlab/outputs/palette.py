"""The colours every output shares (report, annotated video, app): one table, no imports."""

# RGB (tab10): blue/orange for the sides, green/red for within/above the threshold, amber for cannot tell
PALETTE = {"left": (31, 119, 180), "right": (255, 127, 14), "ok": (44, 160, 44), "over": (214, 39, 40),
           "unsure": (183, 121, 31),  # amber: a side whose 95% interval spans the threshold (cannot tell)
           "neutral": (190, 190, 190), "trunk": (235, 235, 235)}


def hex_color(key: str) -> str:
    """A PALETTE colour as CSS/matplotlib hex, e.g. '#1f77b4'."""
    r, g, b = PALETTE[key]
    return f"#{r:02x}{g:02x}{b:02x}"
