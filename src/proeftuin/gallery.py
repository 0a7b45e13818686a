"""The demo gallery: one FastAPI app, a Dutch landing page and every pilot's Gradio demo.

Each demo is served from its champion model (`models:/<slug>@champion`), loaded once and shared by
all visitors. A pilot without a champion, or whose demo fails to import or build, gets a card that
says so; the other pilots keep serving.
"""

from __future__ import annotations

import gc
import html
import logging
import os
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

# After every event Gradio rebuilds a pandas summary of the last 10,000 events for a monitoring page the
# gallery does not use: about a third of the CPU of a request under load (bench/gallery_load.py).
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000000")
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")

import gradio as gr  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.responses import HTMLResponse, JSONResponse  # noqa: E402

from proeftuin import tracking, wording  # noqa: E402
from proeftuin.errors import ManifestError, ProeftuinError  # noqa: E402
from proeftuin.feedback import FeedbackStore  # noqa: E402
from proeftuin.pilot import BrokenPilot, Pilot, discover_pilots  # noqa: E402
from proeftuin.settings import Settings  # noqa: E402

log = logging.getLogger(__name__)
Status = Literal["ready", "no_model", "error"]

# WCAG 2.1 AA contrast: Gradio's default orange primary button and grey footer links fall short.
ACCESSIBLE_CSS = """
.gradio-container { --button-primary-background-fill: #1a4e8a; --button-primary-background-fill-hover: #12385f;
  --button-primary-text-color: #ffffff; --button-primary-text-color-hover: #ffffff;
  --button-primary-border-color: #1a4e8a; --button-primary-border-color-hover: #12385f; }
button.primary, .primary.lg { background: #1a4e8a !important; color: #ffffff !important;
  border-color: #1a4e8a !important; }
footer, footer a, footer button, .show-api, .show-api * { color: #1a202c !important; opacity: 1 !important; }
"""
KIOSK_CSS = ACCESSIBLE_CSS + """
.gradio-container { font-size: 1.35rem !important; max-width: 1100px !important; }
.gradio-container textarea, .gradio-container input { font-size: 1.35rem !important; }
.gradio-container button { font-size: 1.3rem !important; min-height: 3rem; }
"""


@dataclass
class GalleryEntry:
    slug: str
    title: str
    question: str
    owner: str
    stage: str
    metric: str
    metric_value: float | None
    status: Status
    message: str = ""
    blocks: gr.Blocks | None = None


def _load_entry(pilot: Pilot, client, settings: Settings) -> GalleryEntry:
    m = pilot.manifest
    owner = next((o.name for o in settings.organisations if o.slug == m.owner), m.owner)
    entry = GalleryEntry(m.slug, m.title, m.question, owner, m.stage, m.metric.name, None, "no_model",
                         f"Nog geen model. Train er een met: proeftuin run {m.slug}")
    if client is None:
        entry.status, entry.message = (
            "error", "De MLflow-server is niet bereikbaar; modellen konden niet geladen worden.")
        return entry
    version, entry.metric_value = tracking.champion_metric(client, m.slug, m.metric.name)
    if version is None:
        return entry
    try:
        from proeftuin.models import load_model

        model = load_model(f"models:/{m.slug}@{tracking.CHAMPION_ALIAS}")
        module = pilot.demo()
        blocks = module.build_demo(model)
        if not isinstance(blocks, gr.Blocks):
            raise TypeError(f"build_demo gaf {type(blocks).__name__} terug in plaats van gradio.Blocks")
    except Exception as exc:  # a pilot's demo may fail in any way; it must not take the gallery down
        log.warning("demo %s failed: %s", m.slug, exc)
        entry.status, entry.message = "error", f"De demo kon niet starten: {_first_line(exc)}"
        return entry
    entry.status, entry.message, entry.blocks = "ready", "", blocks
    return entry


def _first_line(exc: Exception) -> str:
    if isinstance(exc, ManifestError):
        text = f"{Path(exc.path).name}: {'; '.join(exc.problems)}"
    elif isinstance(exc, ProeftuinError):
        text = exc.message
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text.splitlines()[0][:300] if text else type(exc).__name__


def load_entries(settings: Settings) -> list[GalleryEntry]:
    from proeftuin.privacy import scrub_text

    scrub_text("Jan Peeters, Kerkstraat 1, 8500 Kortrijk")  # load the scrubber's word lists before visitors come
    try:
        client = tracking.connect(settings)
    except ProeftuinError as exc:
        log.warning("%s", exc)
        client = None
    orgs = {o.slug for o in settings.organisations}
    entries = []
    for pilot in discover_pilots(settings.pilots_dir, orgs, strict=False):
        if isinstance(pilot, BrokenPilot):
            entries.append(GalleryEntry(pilot.slug, pilot.slug, "", "", "", "", None, "error",
                                        f"Deze pilot is ongeldig: {_first_line(pilot.error)}"))
        else:
            entries.append(_load_entry(pilot, client, settings))
    return entries


def _with_feedback(entry: GalleryEntry, store: FeedbackStore) -> gr.Blocks:
    """Kiosk: the pilot's demo plus a 'Was dit nuttig?' thumbs up/down."""
    inner = entry.blocks
    text_input = None
    for fn in getattr(inner, "fns", {}).values():
        if getattr(fn, "api_name", None) == "predict" and fn.inputs:
            text_input = fn.inputs[0]
    with gr.Blocks(title=inner.title) as wrapper:
        inner.render()
        gr.Markdown("### Was dit nuttig?")
        with gr.Row():
            yes = gr.Button("Ja, nuttig")
            no = gr.Button("Niet nuttig")
        thanks = gr.Markdown()

        def record(verdict: str):
            def handler(text: Any = None) -> str:
                store.add(entry.slug, verdict, text if isinstance(text, str) else None)
                return "Bedankt voor je mening!"
            return handler

        inputs = [text_input] if (text_input is not None and store.store_text) else None
        yes.click(record("nuttig"), inputs=inputs, outputs=thanks, api_visibility="private")
        no.click(record("niet nuttig"), inputs=inputs, outputs=thanks, api_visibility="private")
    return wrapper


class DemoGuard:
    """ASGI middleware for demo API calls: a per-client rate limit and a cap on request size."""

    def __init__(self, app, max_bytes: int, per_minute: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_minute = per_minute
        self.calls: dict[str, deque[float]] = defaultdict(deque)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith("/demo/"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await _reply(send, 413,
                         f"De invoer is te groot (meer dan {self.max_bytes // 1024} kB). Maak je tekst korter.")
            return
        if self.per_minute and self._limited((scope.get("client") or ("?", 0))[0]):
            await _reply(send, 429,
                         "Even geduld: je stuurde veel aanvragen kort na elkaar. Probeer het over een minuut opnieuw.")
            return
        received = 0

        async def capped_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise ValueError("request body too large")
            return message

        await self.app(scope, capped_receive, send)

    def _limited(self, client: str) -> bool:
        now = time.monotonic()
        window = self.calls[client]
        while window and now - window[0] > 60:
            window.popleft()
        if len(window) >= self.per_minute:
            return True
        window.append(now)
        return False


async def _reply(send, status: int, message: str) -> None:
    body = JSONResponse({"error": message}, status_code=status).body
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def build_app(settings: Settings, kiosk: bool = False, entries: list[GalleryEntry] | None = None) -> FastAPI:
    entries = load_entries(settings) if entries is None else entries
    app = FastAPI(title="Proeftuin-galerij", docs_url=None, redoc_url=None, openapi_url=None)
    store = FeedbackStore(settings, settings.gallery.store_feedback_text) if kiosk else None
    app.state.entries = entries

    @app.get("/", response_class=HTMLResponse)
    def landing() -> str:
        return landing_page(entries, kiosk)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "demos": {e.slug: e.status for e in entries}}

    for entry in entries:
        if entry.status != "ready":
            continue
        blocks = _with_feedback(entry, store) if store is not None else entry.blocks
        blocks.queue(default_concurrency_limit=settings.gallery.concurrency_limit,
                     max_size=settings.gallery.queue_size)
        gr.mount_gradio_app(
            app, blocks, path=f"/demo/{entry.slug}", footer_links=["api"], show_error=False,
            max_file_size="1mb", allowed_paths=[], blocked_paths=[str(settings.state_dir)],
            css=KIOSK_CSS if kiosk else ACCESSIBLE_CSS, mcp_server=False, pwa=False, ssr_mode=False,
        )

    @app.get("/demo/{slug}/", response_class=HTMLResponse)
    def demo_unavailable(slug: str) -> HTMLResponse:
        entry = next((e for e in entries if e.slug == slug), None)
        if entry is None:
            return HTMLResponse(_page("Onbekende demo", f"<p>Er is geen pilot '{html.escape(slug)}'. "
                                      "<a href=\"../../\">Terug naar de galerij</a>.</p>"), status_code=404)
        return HTMLResponse(_page(entry.title, _card(entry, link=False) +
                                  '<p><a href="../../">Terug naar de galerij</a></p>'),
                            status_code=503 if entry.status == "error" else 200)

    # The loaded models and libraries are half a million long-lived objects; a full garbage collection
    # walks them all (0.4-0.6 s on this machine) and stalls every visitor while it runs. They live as
    # long as the gallery, so move them out of the collector's sight.
    gc.collect()
    gc.freeze()
    return DemoGuard(app, settings.gallery.max_request_bytes, settings.gallery.rate_limit_per_minute)


STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #1a202c; background: #f7fafc; }
header, main { max-width: 1100px; margin: 0 auto; padding: 1rem 1.5rem; }
h1 { font-size: 2rem; margin-bottom: .25rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 1rem;
  list-style: none; padding: 0; }
.card { background: #fff; border: 1px solid #cbd5e0; border-radius: 8px; padding: 1rem 1.25rem; }
.card h2 { font-size: 1.3rem; margin: 0 0 .5rem; }
.meta { color: #2d3748; font-size: .95rem; }
.figure { font-size: 1.1rem; }
.technical { color: #2d3748; font-size: .95rem; white-space: nowrap; }
.status-error { border-left: 6px solid #c53030; }
.status-no_model { border-left: 6px solid #b7791f; }
.status-ready { border-left: 6px solid #2f855a; }
a.button { display: inline-block; background: #1a4e8a; color: #fff; padding: .5rem 1rem; border-radius: 6px;
  text-decoration: none; }
a.button:focus, a.button:hover { background: #12385f; outline: 3px solid #f6ad55; }
code { background: #edf2f7; padding: .1rem .3rem; border-radius: 4px; }
body.kiosk { font-size: 1.4rem; }
"""


def _card(entry: GalleryEntry, link: bool = True) -> str:
    e = html.escape
    parts = [f'<article class="card status-{entry.status}" aria-labelledby="t-{e(entry.slug)}">',
             f'<h2 id="t-{e(entry.slug)}">{e(entry.title)}</h2>']
    if entry.question:
        parts.append(f"<p>{e(entry.question)}</p>")
    if entry.owner:
        parts.append(f'<p class="meta">Eigenaar: {e(entry.owner)} · Fase: {e(entry.stage)}</p>')
    parts += _figure(entry)
    if entry.status == "ready" and link:
        parts.append(f'<p><a class="button" href="demo/{e(entry.slug)}/">Probeer de demo: {e(entry.title)}</a></p>')
    elif entry.status == "no_model":
        parts.append(f"<p><strong>Nog geen model.</strong> Train er een met "
                     f"<code>proeftuin run {e(entry.slug)}</code>.</p>")
    elif entry.status == "error":
        parts.append(f'<p role="alert"><strong>Fout.</strong> {e(entry.message)}</p>')
    parts.append("</article>")
    return "\n".join(parts)


def _figure(entry: GalleryEntry) -> list[str]:
    """The champion's figure as a visitor understands it, with the technical one beside it."""
    if not entry.metric or entry.metric_value is None:
        return []
    e = html.escape
    words = e(wording.in_words(entry.metric, entry.metric_value))
    figure = e(wording.technical(entry.metric, entry.metric_value))
    lines = [f'<p class="figure"><strong>{words}</strong> <span class="technical">({figure})</span></p>']
    if explanation := wording.explain(entry.metric):
        lines.append(f'<p class="meta">{e(explanation)}</p>')
    return lines


def _page(title: str, body: str, kiosk: bool = False) -> str:
    return (f'<!doctype html><html lang="nl"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)} · Proeftuin</title><style>{STYLE}</style></head>"
            f'<body class="{"kiosk" if kiosk else ""}"><header><p><a href="/">Proeftuin</a></p></header>'
            f"<main><h1>{html.escape(title)}</h1>{body}</main></body></html>")


def landing_page(entries: list[GalleryEntry], kiosk: bool = False) -> str:
    intro = ("<p>Probeer de AI-pilots van de Zuid-West-Vlaamse gemeenten. Elke demo gebruikt het beste model "
             "dat tot nu toe getraind werd. <strong>Dit zijn AI-systemen</strong>: ze kunnen zich vergissen.</p>")
    cards = "".join(f"<li>{_card(e)}</li>" for e in entries) or "<li>Nog geen pilots.</li>"
    return _page("Demogalerij", f'{intro}<ul class="grid">{cards}</ul>', kiosk).replace(
        '<a href="/">Proeftuin</a>', '<a href="./">Proeftuin</a>')
