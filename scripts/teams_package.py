"""Build the Teams app package build/meldwijzer-teams.zip from bot/teams/ (``make teams-package``).

Why a script: Teams rejects a package on upload with a terse error when one field or icon is off. This
fills in the bot's app id and the publisher's details from the environment, checks what Teams checks
(required fields, lengths, GUIDs, https URLs, icon sizes, a white-only outline icon) plus our own rule
(personal scope only: a case about a child must not be discussed in a team channel), and only then
writes the zip. Every problem is listed at once.

Environment: MICROSOFT_APP_ID (the Azure Bot's app id), TEAMS_DEVELOPER_NAME, TEAMS_WEBSITE_URL,
TEAMS_PRIVACY_URL, TEAMS_TERMS_URL. See docs/TEAMS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence

from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = REPO_ROOT / "bot" / "teams"
OUTPUT = REPO_ROOT / "build" / "meldwijzer-teams.zip"
PLACEHOLDER = re.compile(r"\{\{([A-Z0-9_]+)\}\}")
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
ICON_SIZES = {"color": (192, 192), "outline": (32, 32)}
# Every text in the manifest is Dutch, and the manifest must say so.
DEFAULT_LANGUAGE = "nl-nl"
# (path, maximum length) of every text Teams requires, from the v1.19 manifest schema.
REQUIRED_TEXTS = (
    (("manifestVersion",), 16),
    (("version",), 256),
    (("developer", "name"), 32),
    (("name", "short"), 30),
    (("name", "full"), 100),
    (("description", "short"), 80),
    (("description", "full"), 4000),
)
URL_FIELDS = (("developer", "websiteUrl"), ("developer", "privacyUrl"), ("developer", "termsOfUseUrl"))


class PackageError(Exception):
    """The package cannot be built; ``problems`` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def render(template: str, environ: Mapping[str, str]) -> Dict[str, Any]:
    """The manifest with every ``{{NAME}}`` replaced by that environment variable (JSON-escaped)."""
    missing = sorted({name for name in PLACEHOLDER.findall(template) if not environ.get(name)})
    if missing:
        raise PackageError([f"environment variable {name} is not set" for name in missing])
    text = PLACEHOLDER.sub(lambda match: json.dumps(environ[match.group(1)])[1:-1], template)
    return json.loads(text)


def field(manifest: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = manifest
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def text_problems(manifest: Mapping[str, Any]) -> List[str]:
    problems = []
    for path, limit in REQUIRED_TEXTS:
        value = field(manifest, path)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{'.'.join(path)} is required")
        elif len(value) > limit:
            problems.append(f"{'.'.join(path)} is {len(value)} characters; Teams allows {limit}")
    for path in URL_FIELDS:
        if not str(field(manifest, path) or "").startswith("https://"):
            problems.append(f"{'.'.join(path)} must be an https:// URL")
    if not SEMVER.match(str(manifest.get("version", ""))):
        problems.append("version must look like 1.0.0")
    if not HEX_COLOR.match(str(manifest.get("accentColor", ""))):
        problems.append("accentColor must be a colour like #1E5E8C")
    if field(manifest, ("localizationInfo", "defaultLanguageTag")) != DEFAULT_LANGUAGE:
        problems.append(f"localizationInfo.defaultLanguageTag must be {DEFAULT_LANGUAGE}: the texts are Dutch")
    return problems


def bot_problems(manifest: Mapping[str, Any]) -> List[str]:
    problems = [] if GUID.match(str(manifest.get("id", ""))) else ["id must be a GUID (the app id)"]
    bots = manifest.get("bots") or []
    if len(bots) != 1:
        return problems + ["bots must list exactly one bot"]
    if not GUID.match(str(bots[0].get("botId", ""))):
        problems.append("bots[0].botId must be a GUID (MICROSOFT_APP_ID)")
    if bots[0].get("scopes") != ["personal"]:
        problems.append('bots[0].scopes must be ["personal"]: case data stays in a personal chat')
    return problems


def icon_problems(manifest: Mapping[str, Any], folder: Path) -> List[str]:
    problems = []
    for kind, size in ICON_SIZES.items():
        name = field(manifest, ("icons", kind))
        path = folder / str(name)
        if not name or not path.is_file():
            problems.append(f"icons.{kind}: file {name!r} not found in {folder}")
            continue
        with Image.open(path) as image:
            if image.format != "PNG" or image.size != size:
                problems.append(
                    f"icons.{kind}: {name} is a {image.format} of {image.size}; Teams needs a PNG of {size}"
                )
            elif kind == "outline" and not white_on_transparent(image):
                problems.append(f"icons.outline: {name} must be white on a transparent background")
    return problems


def white_on_transparent(image: Image.Image) -> bool:
    """Every visible pixel white, and some pixels transparent (Teams colours the outline itself)."""
    data = image.convert("RGBA").tobytes()
    pixels = [data[start : start + 4] for start in range(0, len(data), 4)]
    return any(pixel[3] == 0 for pixel in pixels) and all(min(pixel[:3]) >= 250 for pixel in pixels if pixel[3])


def validate(manifest: Mapping[str, Any], folder: Path) -> None:
    problems = text_problems(manifest) + bot_problems(manifest) + icon_problems(manifest, folder)
    if problems:
        raise PackageError(problems)


def build(source: Path, output: Path, environ: Mapping[str, str]) -> Path:
    """Validate and write the zip: manifest.json and the two icons at its root, as Teams expects."""
    manifest = render((source / "manifest.json").read_text(encoding="utf-8"), environ)
    validate(manifest, source)
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        for kind in ICON_SIZES:
            package.write(source / manifest["icons"][kind], manifest["icons"][kind])
    return output


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE_DIR, help="folder with manifest.json and icons")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="zip to write")
    args = parser.parse_args(argv)
    try:
        path = build(args.source, args.output, os.environ)
    except PackageError as error:
        print("The Teams package was not built:", *(f"  - {p}" for p in error.problems), sep="\n", file=sys.stderr)
        return 1
    print(f"wrote {path}; upload it in Teams (Apps > Manage your apps > Upload an app), see docs/TEAMS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
