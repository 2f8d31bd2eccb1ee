"""A picture of a table's layout: its segments, bases and deltas on an
event-time axis, each file labelled with the version that committed it (a
base: the version it was built from). `bazof info --plot out.png|out.svg`
runs this module (``python -m bazof.plot --info INFO.json OUT``) with the
JSON of ``bazof info --format json``; from Python, ``plot_info(info, path)``.

Needs matplotlib (``pip install 'bazof[plot]'``)."""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

#: Width of the figure in inches; at 100 dpi a PNG is 1000 pixels wide.
WIDTH_IN = 10.0
DPI = 100


class PlotError(Exception):
    """A plot that cannot be made (missing matplotlib, bad file name)."""


def _time(text: Optional[str]) -> Optional[_dt.datetime]:
    """An event time of the info JSON (ISO-8601 with Z); None for open or
    infinite bounds."""
    if text is None or text in ("+inf", "-inf"):
        return None
    return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _segments(segments: List[Dict[str, Any]], depth: int = 0) -> Iterator[Tuple[int, Dict[str, Any]]]:
    for s in segments:
        yield depth, s
        yield from _segments(s.get("segments", []), depth + 1)


def lanes(info: Dict[str, Any]) -> List[Dict[str, Any]]:
    """One lane per file, in the order `bazof info` lists them: kind, the
    segment, its depth, the event-time span drawn and the label."""
    out = []
    for depth, seg in _segments(info.get("segments", [])):
        for f in seg.get("files", []):
            if f["kind"] == "base":
                label = "base" + (f" (from v{f['built_from_version']})" if "built_from_version" in f else "")
                start = end = _time(seg.get("start"))
            else:
                label = "delta" + (f" v{f['version']}" if "version" in f else "")
                start = _time(f.get("min_event_time")) or _time(seg.get("start"))
                end = _time(f.get("max_event_time")) or _time(seg.get("end"))
            out.append({"kind": f["kind"], "segment": seg["id"], "depth": depth, "start": start, "end": end,
                        "label": f"{label}, {f.get('rows', '?')} rows", "seg_start": _time(seg.get("start")),
                        "seg_end": _time(seg.get("end"))})
    return out


def plot_info(info: Dict[str, Any], path: str) -> None:
    """Draws the table described by `info` (the JSON of ``bazof info``) into
    `path`, a .png or .svg file. Raises PlotError without matplotlib."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".png", ".svg"):
        raise PlotError(f"'{path}': expected a .png or .svg file name")
    try:
        import matplotlib
        matplotlib.use("Agg")
        matplotlib.rcParams["svg.fonttype"] = "none"  # SVG text stays text (searchable, small)
        import matplotlib.dates as mdates
        import matplotlib.pyplot as plt
        from matplotlib.patches import Rectangle
    except ImportError as e:
        raise PlotError(f"needs matplotlib ({e}): pip install 'bazof[plot]'") from None

    rows = lanes(info)
    # The axis spans the files' event times (a segment may start at the epoch or
    # stay open); segment bounds only when no file has a time.
    times = [t for r in rows for t in (r["start"], r["end"]) if t is not None]
    if not times:
        times = [t for r in rows for t in (r["seg_start"], r["seg_end"]) if t is not None]
    if not times:
        times = [_dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)]
    lo, hi = min(times), max(times)
    pad = max((hi - lo) * 0.05, _dt.timedelta(days=1))
    left, right = lo - pad, hi + pad
    clamp = lambda t, default: default if t is None else min(max(t, left), right)  # noqa: E731

    height = min(2.0 + 0.32 * max(len(rows), 1), 40.0)
    fig, ax = plt.subplots(figsize=(WIDTH_IN, height), dpi=DPI)
    colors = {"base": "#4c72b0", "delta": "#dd8452"}
    base_width = (right - left) * 0.004
    for i, r in enumerate(rows):
        y = len(rows) - 1 - i
        start, end = clamp(r["start"], left), clamp(r["end"], right)
        x0 = mdates.date2num(start)
        w = mdates.date2num(end) - x0
        if r["kind"] == "base":  # a base is the state at its segment's start: a thin bar there
            x0 -= mdates.date2num(start + base_width) - mdates.date2num(start)
            w = 2 * (mdates.date2num(start + base_width) - mdates.date2num(start))
        patch = Rectangle((x0, y - 0.35), max(w, 1e-6), 0.7, color=colors[r["kind"]], alpha=0.85)
        patch.set_gid(f"bazof-{r['kind']}-{i}")
        ax.add_patch(patch)
        ax.text(mdates.date2num(clamp(r["end"], right)), y, "  " + r["label"], va="center", fontsize=7)
    # Segment bounds: light bands behind the files.
    seen = set()
    for r in rows:
        if r["segment"] in seen:
            continue
        seen.add(r["segment"])
        s, e = clamp(r["seg_start"], left), clamp(r["seg_end"], right)
        ax.axvspan(mdates.date2num(s), mdates.date2num(e), color="#999999", alpha=0.06 + 0.04 * (r["depth"] % 3))
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{'  ' * r['depth']}{r['segment']}" for r in reversed(rows)], fontsize=7)
    ax.set_ylim(-1, max(len(rows), 1))
    ax.set_xlim(mdates.date2num(left), mdates.date2num(right))
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("event time (UTC)")
    ax.set_title(f"{info.get('table', '')}: version {info.get('version', '?')}, "
                 f"{len(rows)} file(s) (blue: bases, orange: deltas)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, format=suffix[1:], dpi=DPI)
    plt.close(fig)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bazof.plot", description=__doc__.split("\n\n")[0])
    parser.add_argument("--info", required=True, help="JSON of `bazof info --format json` ('-' = stdin)")
    parser.add_argument("output", help="a .png or .svg file")
    args = parser.parse_args(argv)
    try:
        text = sys.stdin.read() if args.info == "-" else Path(args.info).read_text()
        plot_info(json.loads(text), args.output)
    except (PlotError, OSError, ValueError) as e:
        print(f"bazof.plot: {e}".replace("\n", " "), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
