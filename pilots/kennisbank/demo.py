"""Kennisbank voor het contactcenter demo: ask a question, see the best passages and their source.

build_demo() only builds the Blocks; the gallery mounts and launches it. Questions are not stored.
"""

from __future__ import annotations

import gradio as gr

from proeftuin.engines.retrieval import AI_NOTICE
from proeftuin.models import native
from proeftuin.privacy import scrub_text

TITLE = "Kennisbank voor het contactcenter"
MAX_CHARS = 2000
EXAMPLES = ["Hoe lang is mijn paspoort geldig?", "Kan ik bezwaar maken tegen de bouwplannen van mijn buren?",
            "Wat moet ik doen als mijn identiteitskaart gestolen is?"]


def build_demo(model) -> gr.Blocks:
    retriever = native(model)

    def predict(question: str) -> str:
        question = scrub_text(str(question or "")[:MAX_CHARS])
        if not question.strip():
            return "Typ eerst een vraag, of kies een voorbeeld hieronder."
        parts = [f"_{AI_NOTICE}_"]
        for n, hit in enumerate(retriever.search(question, k=3), 1):
            source = f"[{hit.source}]({hit.source})" if hit.source.startswith("http") else (hit.source or hit.id)
            parts.append(f"**{n}.** {hit.snippet(500)}\n\nBron: {source} (score {hit.score:.2f})")
        return "\n\n---\n\n".join(parts)

    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"# {TITLE}\nStel een vraag; je krijgt de passages die het best passen, met hun bron.")
        question = gr.Textbox(label="Vraag", lines=2, max_length=MAX_CHARS)
        button = gr.Button("Zoek het antwoord", variant="primary")
        answer = gr.Markdown()
        gr.Examples(EXAMPLES, inputs=question, label="Voorbeelden")
        button.click(predict, inputs=question, outputs=answer, api_name="predict")
    return demo
