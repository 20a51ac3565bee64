"""The search's picture: best fitness so far (line) and each candidate's fitness (grey dots),
against candidates evaluated and against wall time.

Drawn with Pillow (about 7 MB, no other dependency) rather than matplotlib (about 80 MB with
fonttools, and 0.46 s to import here): two step plots with axes and labels are all it needs.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from engine.search.results import Report

WIDTH, HEIGHT = 1000, 420
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 70, 20, 72, 55
DOT = (170, 170, 170)
LINE = (31, 119, 180)
GRID = (225, 225, 225)
INK = (40, 40, 40)


def plot(report: Report, path: Path) -> None:
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    title = ImageFont.load_default(size=16)
    curve = report.curve()
    best = report.best
    head = f"search {report.space}: best {report.metric} so far"
    if best is not None and best.value is not None:
        head += f" (best {best.value:.4f}, candidate {best.candidate})"
    draw.text((MARGIN_L, 12), head, fill=INK, font=title)
    half = WIDTH // 2
    values = [r.value for r in report.done if r.value is not None]
    points_n = [(float(n), v) for n, _, v in curve]
    points_t = [(t / 60.0, v) for _, t, v in curve]
    _panel(draw, font, (0, half), points_n, values, "candidates evaluated", report.metric)
    _panel(draw, font, (half, WIDTH), points_t, values, "wall time (minutes)", report.metric)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "PNG")


def _panel(draw: ImageDraw.ImageDraw, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, span: tuple[int, int],
           points: list[tuple[float, float]], values: list[float], xlabel: str, ylabel: str) -> None:
    left, right = span[0] + MARGIN_L, span[1] - MARGIN_R
    top, bottom = MARGIN_T, HEIGHT - MARGIN_B
    if not points:
        draw.text((left, (top + bottom) // 2), "no results yet", fill=INK, font=font)
        return
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = 0.0, max(max(xs), 1e-9)
    y0, y1 = min(values), max(values)
    pad = (y1 - y0) * 0.1 or abs(y1) * 0.01 or 0.01
    y0, y1 = y0 - pad, y1 + pad

    def at(x: float, y: float) -> tuple[float, float]:
        return (left + (x - x0) / (x1 - x0) * (right - left), bottom - (y - y0) / (y1 - y0) * (bottom - top))

    for i in range(6):
        fy = y0 + (y1 - y0) * i / 5
        fx = x0 + (x1 - x0) * i / 5
        _, py = at(x0, fy)
        px, _ = at(fx, y0)
        draw.line([(left, py), (right, py)], fill=GRID)
        draw.text((left - 6, py), f"{fy:.3g}", fill=INK, font=font, anchor="rm")
        draw.text((px, bottom + 6), f"{fx:.3g}", fill=INK, font=font, anchor="mt")
    draw.rectangle([left, top, right, bottom], outline=INK)
    for x, v in zip(xs, values):
        cx, cy = at(x, v)
        draw.ellipse([cx - 2, cy - 2, cx + 2, cy + 2], fill=DOT)
    steps: list[tuple[float, float]] = [at(xs[0], ys[0])]
    for (_, ya), (xb, yb) in itertools.pairwise(points):
        steps += [at(xb, ya), at(xb, yb)]
    if len(steps) > 1:
        draw.line(steps, fill=LINE, width=2)
    for x, y in points:
        cx, cy = at(x, y)
        draw.ellipse([cx - 2.5, cy - 2.5, cx + 2.5, cy + 2.5], fill=LINE)
    draw.text(((left + right) / 2, bottom + 26), xlabel, fill=INK, font=font, anchor="mt")
    draw.text((left, top - 20), f"{ylabel}: best so far (line), each candidate (dots)", fill=INK, font=font)
