"""WCAG 2.1 AA contrast of the workspace's colours as app.css declares them: text on its
background at least 4.5:1, control borders and state marks at least 3:1 against white (the
browser tests check the rendered pages as well)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from serving.web.charts import FUNNEL_COLOR, OFFLINE_COLOR, ONLINE_COLOR

CSS = (Path(__file__).resolve().parents[3] / "serving" / "web" / "static" / "app.css").read_text(encoding="utf-8")
WHITE = "#ffffff"


def luminance(colour: str) -> float:
    """Relative luminance of ``#rrggbb`` or ``#rgb`` (WCAG 2.1)."""
    value = colour.lstrip("#")
    if re.fullmatch(r"[0-9a-fA-F]{3}", value):
        value = "".join(c * 2 for c in value)
    if not re.fullmatch(r"[0-9a-fA-F]{6}", value):
        raise ValueError(f"expected a colour like #1f7a70, got {colour!r}")
    channels = [int(value[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _variables() -> dict[str, str]:
    root = re.search(r":root\s*\{([^}]*)\}", CSS)
    assert root, "app.css has no :root block"
    return dict(re.findall(r"(--[\w-]+)\s*:\s*(#[0-9a-fA-F]{6})", root.group(1)))


def _rule(selector: str) -> dict[str, str]:
    """Declarations of the first rule whose selector list is exactly ``selector``, var() resolved."""
    found = re.search(r"(?:^|\})\s*" + re.escape(selector) + r"\s*\{([^}]*)\}", CSS)
    assert found, f"no rule for {selector!r} in app.css"
    variables = _variables()
    declarations = {}
    for name, value in re.findall(r"([\w-]+)\s*:\s*([^;]+)", found.group(1)):
        declarations[name] = re.sub(r"var\((--[\w-]+)\)", lambda m: variables[m.group(1)], value.strip())
    return declarations


def test_contrast_formula_matches_known_values() -> None:
    assert contrast("#000000", WHITE) == pytest.approx(21.0)
    assert contrast("#2a9d8f", WHITE) == pytest.approx(3.32, abs=0.01)  # the old accent: fails AA
    with pytest.raises(ValueError, match="#1f7a70"):
        luminance("teal")


@pytest.mark.parametrize("name", ["--fg", "--muted", "--accent", "--link", "--warn", "--focus"])
def test_text_colours_reach_aa_on_white_and_on_the_page_background(name: str) -> None:
    variables = _variables()
    for background in (WHITE, variables["--bg"]):
        assert contrast(variables[name], background) >= 4.5, (name, background)


def test_primary_button_text_reaches_aa() -> None:
    primary = _rule("button.primary")
    assert contrast(primary["color"], primary["background"]) >= 4.5


@pytest.mark.parametrize("name", ["--control", "--pending", "--accent", "--focus"])
def test_control_borders_and_state_marks_reach_three_to_one(name: str) -> None:
    assert contrast(_variables()[name], WHITE) >= 3.0


def test_chart_bars_reach_three_to_one_on_white() -> None:
    for colour in (OFFLINE_COLOR, ONLINE_COLOR, FUNNEL_COLOR):
        assert contrast(colour, WHITE) >= 3.0, colour
