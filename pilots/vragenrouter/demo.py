"""Vragenrouter demo: type a question, see the top 3 departments, the route and why.

build_demo() only builds the Blocks; the gallery mounts and launches it. The predict function is
batched: when many visitors ask at once, their questions go through the model together.
"""

from __future__ import annotations

import gradio as gr

from proeftuin.models import native
from proeftuin.privacy import scrub_text

EXAMPLES = [
    "Treinen op de lijn Kortrijk-Gent hebben elke ochtend vertraging. Wat doet de NMBS daaraan?",
    "Hoeveel asielaanvragen werden vorig jaar ingediend en hoe lang duurt de behandeling gemiddeld?",
    "Hoeveel militairen worden ingezet voor de bewaking van de straten en wat kost dat?",
    "Mijn buurman Jan Peeters (0475 12 34 56) betaalt zijn pensioenbijdrage niet. Wie controleert dat?",
]
MAX_CHARS = 5000
EMPTY = "Typ eerst een vraag of melding, of kies een voorbeeld hieronder."


def _clean(text: object) -> tuple[str, str]:
    """Printable text capped at MAX_CHARS, plus a note for the visitor when it was cut or unusable."""
    raw = text if isinstance(text, str) else ""
    printable = "".join(ch for ch in raw if ch.isprintable() or ch in "\n\t")
    note = ""
    if len(printable) > MAX_CHARS:
        note = (f" (Je tekst was {len(printable):,} tekens; "
                f"alleen de eerste {MAX_CHARS:,} zijn gebruikt.)").replace(",", ".")
        printable = printable[:MAX_CHARS]
    if raw and not printable.strip():
        note = " (De invoer bevatte geen leesbare tekst.)"
    return printable, note


def build_demo(model) -> gr.Blocks:
    router = native(model)

    def predict(texts: list[str]) -> tuple[list, list, list, list]:
        cleaned = [_clean(t) for t in texts]
        seen = [scrub_text(text) if text.strip() else "" for text, _ in cleaned]
        table, reasons = router.route_with_reasons(seen)
        routes, tops, words = [], [], []
        for (_text, note), shown, (_, row), why in zip(cleaned, seen, table.iterrows(), reasons, strict=True):
            if not shown.strip():
                routes.append(EMPTY + note)
                tops.append(None)
                words.append("")
                continue
            if row["route"] == "automatisch":
                route = f"Automatisch doorgestuurd naar: {row['label_1']}"
            else:
                route = f"Naar een medewerker: het model is niet zeker genoeg ({row['confidence']:.0%})."
            routes.append(route + note)
            tops.append({row[f"label_{i}"]: float(row[f"probability_{i}"]) for i in (1, 2, 3) if row[f"label_{i}"]})
            words.append(", ".join(w for w, _ in why) or "(geen)")
        return routes, tops, words, seen

    with gr.Blocks(title="Vragenrouter") as demo:
        gr.Markdown("# Vragenrouter\nNaar welke dienst moet deze vraag? **Dit voorstel komt van een AI-systeem**; "
                    "bij twijfel beslist een medewerker.")
        text = gr.Textbox(label="Vraag of melding", lines=5, max_length=MAX_CHARS,
                          placeholder="Bv. Wanneer wordt het grofvuil opgehaald in mijn straat?")
        button = gr.Button("Doorsturen", variant="primary")
        route = gr.Textbox(label="Beslissing", interactive=False)
        top = gr.Label(label="Top 3 diensten (kans)", num_top_classes=3)
        words = gr.Textbox(label="Woorden die het zwaarst doorwogen", interactive=False)
        seen = gr.Textbox(label="Zo zag het model je tekst (persoonsgegevens verwijderd)", interactive=False)
        gr.Examples(EXAMPLES, inputs=text, label="Voorbeelden")
        button.click(predict, inputs=text, outputs=[route, top, words, seen], api_name="predict",
                     batch=True, max_batch_size=16)
    return demo
