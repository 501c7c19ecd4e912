"""Self-contained SVG drawings and their HTML players (no matplotlib, no network).

A :class:`Canvas` collects SVG elements; the ones that change between frames carry a key. A
frame is a set of overrides of those keyed elements' state (class, text, bar width), and
:func:`player` writes one HTML string: the SVG in frame 0's state, a caption, the controls and
a small script that moves between frames by applying each frame's differences. Everything is a
pure function of the numbers: ids come from a sha1 of the content, and numbers are written by
:func:`num`, so the same input gives the same bytes on every machine.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import math

import numpy as np

MINUS, DASH, TIMES, DOT = "\u2212", "\u2013", "\u00d7", "\u00b7"
# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
BLUE, VERMILLION, ORANGE, SKY = "#0072B2", "#D55E00", "#E69F00", "#56B4E9"
GREEN, PURPLE, YELLOW = "#009E73", "#CC79A7", "#F0E442"
OUTLINES = (BLUE, VERMILLION, GREEN, PURPLE, "#000000", ORANGE)
DASHES = ("", "6 3", "2 2", "8 3 2 3")  # solid, dashed, dotted, dash-dot: not colour alone
CELL = 40
MAX_SIDE = 12
MAX_FRAMES = 150

# Cell states. Every state differs from the plain cell by more than colour: a dashed or thick
# outline, and the markers ("max", "W", "=") and values written in the cells.
CSS = """
#ID{background:#fff}
#ID text{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;fill:#111}
#ID .bg{fill:#fff;stroke:#767676;stroke-width:1}
#ID .c{fill:#fff;stroke:#767676;stroke-width:1}
#ID .pad{fill:#ececec;stroke-dasharray:3 2}
#ID .void{fill:none;stroke:#767676;stroke-dasharray:1 3}
#ID .off{display:none}
#ID .cw{fill:#d4e8f7;stroke:#0072B2;stroke-width:3;stroke-dasharray:6 3}
#ID .won{fill:#f7dca4;stroke:#111;stroke-width:2}
#ID .win{fill:#E69F00;stroke:#111;stroke-width:3.5;stroke-dasharray:none}
#ID .tie{fill:#f7dca4;stroke:#111;stroke-width:2;stroke-dasharray:4 2}
#ID .empty{fill:#fff;stroke:#767676;stroke-dasharray:4 3}
#ID .cur{fill:#d4e8f7;stroke:#0072B2;stroke-width:3;stroke-dasharray:6 3}
#ID .nz{fill:#cde3f2;stroke:#0072B2;stroke-width:2.5}
#ID .hit{fill:#f6c9a8;stroke:#D55E00;stroke-width:3.5}
#ID .bar{fill:#0072B2}
#ID .arr{stroke:#D55E00;stroke-width:2.5;fill:none}
#ID .v{font-size:13px;text-anchor:middle;dominant-baseline:central}
#ID .b{font-weight:700}
#ID .m{font-size:11px;font-weight:700}
#ID .lm{font-size:9px;font-weight:700}
#ID .d{font-size:9px;text-anchor:middle}
#ID .g{fill:#555;font-size:11px}
#ID .ix{fill:#555;font-size:10px;text-anchor:middle}
#ID .t{font-size:13px;font-weight:700}
#ID .lg{font-size:11px}
"""


def num(value) -> str:
    """A number as the figures write it: deterministic, short, with no round-off digits.

    Integers are written as integers, other values with at most two decimals; a value that
    rounds to an integer without being one is marked ``≈``. The value is first rounded to 9
    decimals, so that last-bit differences between machines cannot change what is written.

    Examples
    --------
    >>> [num(v) for v in (3.0, -2.0, 0.25, 1 / 3, -0.0, 0.1 + 0.2, 0.001, float("-inf"))]
    ['3', '\u22122', '0.25', '0.33', '0', '0.3', '\u22480', '\u2212\u221e']
    """
    v = float(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "∞" if v > 0 else MINUS + "∞"
    v = round(v, 9)
    if v.is_integer():
        text = str(int(v))
    else:
        text = f"{v:.2f}".rstrip("0").rstrip(".")
        if text in ("0", "-0") or "." not in text:
            text = "≈" + text.lstrip("-") if text in ("0", "-0") else "≈" + text
    return text.replace("-", MINUS)


def term(value) -> str:
    """A summand: negative numbers in parentheses, as in ``2 + (-4)``."""
    text = num(value)
    return f"({text})" if text.startswith(MINUS) else text


def span(values) -> str:
    """Row or column numbers in words: ``0-1``, ``-1 to 1`` or ``0, 2 and 4``."""
    values = [int(v) for v in values]
    if len(values) == 1:
        return num(values[0])
    if all(b - a == 1 for a, b in itertools.pairwise(values)):
        sep = " to " if values[0] < 0 else DASH
        return f"{num(values[0])}{sep}{num(values[-1])}"
    return ", ".join(num(v) for v in values[:-1]) + " and " + num(values[-1])


def table(values) -> str:
    """A small 2-D array in words: ``[[5, 8], [7, 6]]`` with :func:`num` numbers."""
    return "[" + ", ".join("[" + ", ".join(num(v) for v in row) + "]" for row in values) + "]"


def check_plane(fn: str, name: str, value, max_side: int = MAX_SIDE) -> np.ndarray:
    """A small real 2-D array as a new float64 array (the caller's array is never changed)."""
    a = np.asarray(value)
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{fn}: {name} must be a real numeric array, but got dtype {a.dtype}")
    if a.ndim != 2:
        raise ValueError(f"{fn}: {name} must be one 2-D (H, W) array, but got shape {a.shape}")
    if min(a.shape) < 1:
        raise ValueError(f"{fn}: {name} must not be empty, but got shape {a.shape}")
    if max(a.shape) > max_side:
        raise ValueError(
            f"{fn}: {name} of shape {a.shape} is too large to animate legibly; "
            f"use at most {max_side} x {max_side}"
        )
    return np.array(a, dtype=np.float64)


def _c(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.1f}"


class Canvas:
    """SVG elements in drawing order; keyed ones can change from frame to frame."""

    def __init__(self) -> None:
        self.parts: list[tuple] = []
        self.keys: dict = {}  # name -> k
        self.base: list[tuple] = []  # k -> (class, text, width)
        self.width = self.height = 0.0
        self.origins: dict = {}  # grid name -> (x0, y0, row0, col0, cell)

    def extend(self, x: float, y: float) -> None:
        self.width, self.height = max(self.width, x), max(self.height, y)

    def add(self, tag: str, attrs: dict, text: str | None = None, name=None) -> None:
        if name is not None:
            if name in self.keys:
                raise AssertionError(f"duplicate key {name!r}")
            self.keys[name] = len(self.base)
            self.base.append((attrs.get("class", ""), text, attrs.get("width")))
        self.parts.append((tag, dict(attrs), text, name))

    def text(self, x, y, text, cls="v", name=None, **attrs) -> None:
        self.add("text", {"x": x, "y": y, "class": cls, **attrs}, text, name)

    def grid(
        self,
        name,
        x0,
        y0,
        texts,
        *,
        row0=0,
        col0=0,
        cls=None,
        title=None,
        index=True,
        detail=False,
        bars=False,
        cell=CELL,
    ) -> None:
        """Cells (rect ``(name, r, c, 'r')``, value ``'v'``, marker ``'m'``, optional detail
        ``'d'`` and bar ``'b'``) for rows ``row0, row0 + 1, ...`` and columns likewise."""
        rows, cols = len(texts), len(texts[0])
        self.origins[name] = (x0, y0, row0, col0, cell)
        if title:
            self.text(x0, y0 - (22 if index else 8), title, "t", name=(name, "title"))
        for r in range(rows):
            for c in range(cols):
                x, y = x0 + c * cell, y0 + r * cell
                key = (name, r + row0, c + col0)
                kind = "c" if cls is None else cls[r][c]
                self.add(
                    "rect",
                    {"x": x, "y": y, "width": cell, "height": cell, "class": kind},
                    name=key + ("r",),
                )
                self.text(
                    x + cell / 2,
                    y + cell / 2 + (3 if detail else 0),
                    texts[r][c],
                    "v",
                    name=key + ("v",),
                )
                self.text(x + 3, y + 10, "", "m", name=key + ("m",))
                if detail:
                    self.text(x + cell / 2, y + 10, "", "d", name=key + ("d",))
                if bars:
                    self.add(
                        "rect",
                        {"x": x + 3, "y": y + cell - 6, "width": 0, "height": 3, "class": "bar"},
                        name=key + ("b",),
                    )
        if index:
            for c in range(cols):
                self.text(x0 + (c + 0.5) * cell, y0 - 5, num(c + col0), "ix")
            for r in range(rows):
                self.text(x0 - 9, y0 + (r + 0.5) * cell + 3, num(r + row0), "ix")
        # a title wider than its grid must fit in the drawing too (it is not clipped)
        self.extend(x0 + panel_width(cols, title or "", cell), y0 + rows * cell)

    def center(self, name, r, c) -> tuple[float, float]:
        x0, y0, row0, col0, cell = self.origins[name]
        return x0 + (c - col0 + 0.5) * cell, y0 + (r - row0 + 0.5) * cell

    def corner(self, name, r, c) -> tuple[float, float]:
        x0, y0, row0, col0, cell = self.origins[name]
        return x0 + (c - col0) * cell, y0 + (r - row0) * cell

    def state(self, overrides: dict, name) -> tuple:
        k = self.keys[name]
        return overrides.get(name, self.base[k])

    def svg(self, label: str, overrides: dict | None = None, pad: int = 10) -> str:
        """The SVG in the state ``overrides`` (frame 0), with its own scoped style."""
        overrides = overrides or {}
        body = []
        for tag, attrs, text, name in self.parts:
            if name is not None:
                cls, text, width = self.state(overrides, name)
                attrs = {**attrs, "class": cls, "data-k": self.keys[name]}
                if width is not None:
                    attrs["width"] = width
            a = " ".join(
                f'{k}="{html.escape(_c(v) if isinstance(v, (int, float)) else str(v))}"'
                for k, v in attrs.items()
                if v != ""
            )
            if text is None:
                body.append(f"<{tag} {a}/>")
            else:
                body.append(f"<{tag} {a}>{html.escape(text)}</{tag}>")
        content = "".join(body)
        w, h = self.width + 2 * pad, self.height + 2 * pad
        uid = "pl-svg-" + hashlib.sha1((label + content).encode()).hexdigest()[:12]
        style = CSS.replace("#ID", "#" + uid).replace("\n", "")
        marker = (
            f'<marker id="{uid}-a" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" '
            f'fill="{VERMILLION}"/></marker>'
        )
        content = content.replace('marker-end="A"', f'marker-end="url(#{uid}-a)"')
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" id="{uid}" role="img" '
            f'aria-labelledby="{uid}-t" width="{_c(w)}" height="{_c(h)}" '
            f'viewBox="{_c(-pad)} {_c(-pad)} {_c(w)} {_c(h)}" '
            f'style="max-width:100%;height:auto;background:#fff">'
            f'<title id="{uid}-t">{html.escape(label)}</title><style>{style}</style>'
            f"<defs>{marker}</defs>"
            f'<rect class="bg" x="{_c(-pad)}" y="{_c(-pad)}" width="{_c(w)}" height="{_c(h)}"/>'
            f"{content}</svg>"
        )


def _full(canvas: Canvas, overrides: dict) -> list[tuple]:
    return [overrides.get(name, canvas.base[k]) for name, k in canvas.keys.items()]


PLAYER_CSS = """
#ID{background:#fff;color:#111;border:1px solid #767676;border-radius:6px;padding:8px;
margin:6px 0;max-width:100%;box-sizing:border-box;overflow-x:auto;
font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:14px;line-height:1.4}
#ID .pl-cap{margin:6px 2px;min-height:2.8em;color:#111}
#ID .pl-ctl{display:flex;flex-wrap:wrap;align-items:center;gap:4px;margin:4px 0 2px}
#ID button{font:inherit;font-size:15px;min-width:2.4em;min-height:2.1em;padding:0 6px;
background:#f0f0f0;color:#111;border:1px solid #555;border-radius:4px;cursor:pointer}
#ID button:hover{background:#dcdcdc}
#ID button:focus-visible,#ID input:focus-visible{outline:3px solid #0072B2;outline-offset:2px}
#ID input[type=range]{flex:1 1 8em;min-width:6em;accent-color:#0072B2}
#ID .pl-count{min-width:7em;color:#111}
"""

# ES5, scoped to its own root element (the script's parent), no globals, no requests.
PLAYER_JS = """(function(root){
var P=JSON.parse(root.querySelector('script[type="application/json"]').textContent);
var D=P.d,C=P.c,n=C.length,i=0,timer=null,E=[],B=[];
var els=root.querySelectorAll('[data-k]');
for(var j=0;j<els.length;j++){var e=els[j],k=+e.getAttribute('data-k');E[k]=e;
B[k]=[e.getAttribute('class')||'',e.tagName.toLowerCase()==='text'?e.textContent:null,
e.getAttribute('width')];}
function put(k,s){var e=E[k];e.setAttribute('class',s[0]);
if(s[1]!==null&&s[1]!==undefined)e.textContent=s[1];
if(s[2]!==null&&s[2]!==undefined)e.setAttribute('width',s[2]);}
var cap=root.querySelector('.pl-cap'),cnt=root.querySelector('.pl-count'),
sl=root.querySelector('input[type=range]'),play=root.querySelector('[data-act=play]');
function show(t){t=Math.max(0,Math.min(n-1,t));for(var k=0;k<E.length;k++)put(k,B[k]);
for(var f=1;f<=t;f++){var d=D[f];for(var q=0;q<d.length;q++)put(d[q][0],d[q].slice(1));}
i=t;cap.textContent=C[t];cnt.textContent='frame '+(t+1)+' / '+n;sl.value=t+1;
sl.setAttribute('aria-valuetext','frame '+(t+1)+' of '+n);root.setAttribute('data-frame',t);}
function stop(){if(timer!==null){clearInterval(timer);timer=null;}
play.textContent='\\u25B6';play.setAttribute('aria-label','play');play.title='play';
root.setAttribute('data-playing','false');}
function start(){if(i>=n-1)show(0);timer=setInterval(function(){
if(i>=n-1){stop();}else{show(i+1);if(i>=n-1)stop();}},1400);
play.textContent='||';play.setAttribute('aria-label','pause');play.title='pause';
root.setAttribute('data-playing','true');}
root.querySelector('.pl-ctl').addEventListener('click',function(ev){
var b=ev.target.closest?ev.target.closest('button'):null;if(!b)return;
var a=b.getAttribute('data-act');
if(a==='play'){if(timer===null)start();else stop();return;}
stop();if(a==='first')show(0);else if(a==='prev')show(i-1);
else if(a==='next')show(i+1);else if(a==='last')show(n-1);});
sl.addEventListener('input',function(){stop();show(+sl.value-1);});
show(0);})(document.currentScript.parentElement);"""

BUTTONS = (
    ("first", "|\u25c0\u25c0", "first frame"),
    ("prev", "\u25c0", "previous frame"),
    ("play", "\u25b6", "play"),
    ("next", "\u25b6|", "next frame"),
    ("last", "\u25b6\u25b6|", "last frame"),
)


def panel_width(cols: int, title: str, cell: float = CELL) -> float:
    """How wide a grid panel is, with its title (about 7.6 pixels a character at 13px bold)."""
    return max(cols * cell, 7.6 * len(title))


def player(canvas: Canvas, frames: list[dict], captions: list[str], label: str) -> str:
    """One self-contained HTML string: the SVG at frame 0, its caption, controls and script."""
    if len(frames) != len(captions):
        raise AssertionError("one caption per frame")
    states = [_full(canvas, f) for f in frames]
    diffs = [[]]
    for prev, cur in itertools.pairwise(states):
        diffs.append([[k, *s] for k, (p, s) in enumerate(zip(prev, cur)) if p != s])
    svg = canvas.svg(label, frames[0])
    data = json.dumps({"d": diffs, "c": captions}, ensure_ascii=False, separators=(",", ":"))
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    uid = "pl-anim-" + hashlib.sha1((svg + data).encode()).hexdigest()[:12]
    n = len(frames)
    buttons = "".join(
        f'<button type="button" data-act="{act}" aria-label="{aria}" title="{aria}">{text}</button>'
        for act, text, aria in BUTTONS
    )
    return (
        f'<div class="pl-anim" id="{uid}" data-frame="0" data-frames="{n}" '
        f'data-playing="false">'
        f"<style>{PLAYER_CSS.replace('#ID', '#' + uid).replace(chr(10), '')}</style>"
        f"{svg}"
        f'<p class="pl-cap" aria-live="polite">{html.escape(captions[0])}</p>'
        f'<div class="pl-ctl" role="group" aria-label="animation controls">{buttons}'
        f'<input type="range" min="1" max="{n}" value="1" step="1" aria-label="frame" '
        f'aria-valuetext="frame 1 of {n}">'
        f'<span class="pl-count">frame 1 / {n}</span></div>'
        f'<script type="application/json">{data}</script>'
        f"<script>{PLAYER_JS}</script></div>"
    )


class Animation:
    """A frame-by-frame animation that a notebook shows as a self-contained HTML player.

    Attributes
    ----------
    frames : list of dict
        Per-frame data in plain Python (what each frame shows, in numbers).
    captions : list of str
        Per-frame descriptions in words; the player reads the current one out.
    alt : str
        A one-paragraph description of the whole animation.
    html : str
        The player: SVG, captions, controls and script in one string, without requests.
    """

    def __init__(self, title, alt, frames, captions, canvas, states) -> None:
        if len(frames) > MAX_FRAMES:
            raise ValueError(
                f"{title}: {len(frames)} frames are too many to step through; "
                f"use a smaller input or a larger stride (at most {MAX_FRAMES} frames)"
            )
        self.title, self.alt, self.frames, self.captions = title, alt, frames, captions
        self.html = player(canvas, states, captions, alt)

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"<{self.title}: {len(self.frames)} frames; shown as a player in a notebook>"

    def __len__(self) -> int:
        return len(self.frames)
