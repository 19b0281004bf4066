"""Draw the two icons of the Teams app package: bot/teams/color.png and bot/teams/outline.png.

Why generated: Teams demands exact sizes (192x192 full colour, 32x32 white on transparent) and rejects a
package otherwise; drawing them from code keeps them reproducible and reviewable. Run it again after a
change and commit the PNGs: ``.venv/bin/python scripts/make_teams_icons.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Tuple

from PIL import Image, ImageDraw

TEAMS_DIR = Path(__file__).resolve().parent.parent / "bot" / "teams"
ACCENT = (30, 94, 140, 255)  # the manifest's accentColor #1E5E8C
WHITE = (255, 255, 255, 255)
SCALE = 4  # draw large, then shrink: smooth edges at 32 pixels
Color = Tuple[int, int, int, int]


def draw_bubble(size: int, fill: Color, mark: Color, line: int) -> Image.Image:
    """A speech bubble with a check mark: "a conversation that tells you what to do next"."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    unit = size / 32
    box = (3 * unit, 4 * unit, 29 * unit, 23 * unit)
    tail = [(8 * unit, 22 * unit), (8 * unit, 29 * unit), (15 * unit, 22 * unit)]
    if fill[3]:
        draw.rounded_rectangle(box, radius=5 * unit, fill=fill)
        draw.polygon(tail, fill=fill)
    else:
        draw.rounded_rectangle(box, radius=5 * unit, outline=mark, width=line)
        draw.rectangle((8 * unit + line, 23 * unit - line - 1, 14 * unit, 23 * unit), fill=(0, 0, 0, 0))
        draw.line(tail, fill=mark, width=line, joint="curve")
    check = [(10 * unit, 13.5 * unit), (14 * unit, 17.5 * unit), (22 * unit, 9.5 * unit)]
    draw.line(check, fill=mark, width=line, joint="curve")
    return image


def color_icon() -> Image.Image:
    """192x192: white bubble on the accent colour, a check mark in the accent colour."""
    size = 192 * SCALE
    background = Image.new("RGBA", (size, size), ACCENT)
    bubble = draw_bubble(size, WHITE, ACCENT, line=int(3 * size / 32))
    return Image.alpha_composite(background, bubble).resize((192, 192), Image.LANCZOS)


def outline_icon() -> Image.Image:
    """32x32: only white pixels on transparency, as Teams requires for the outline icon."""
    size = 32 * SCALE
    bubble = draw_bubble(size, (0, 0, 0, 0), WHITE, line=int(2 * size / 32))
    alpha = bubble.getchannel("A").resize((32, 32), Image.LANCZOS)
    icon = Image.new("RGBA", (32, 32), (255, 255, 255, 0))
    icon.putalpha(alpha)
    return icon


def main() -> None:
    TEAMS_DIR.mkdir(parents=True, exist_ok=True)
    color_icon().save(TEAMS_DIR / "color.png", optimize=True)
    outline_icon().save(TEAMS_DIR / "outline.png", optimize=True)
    print(f"wrote {TEAMS_DIR / 'color.png'} and {TEAMS_DIR / 'outline.png'}")


if __name__ == "__main__":
    main()
