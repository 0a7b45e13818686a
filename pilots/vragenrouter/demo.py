"""Vragenrouter demo: type a question, see the top 3 departments, the route and why.

build_demo() only builds the Blocks; the gallery mounts and launches it.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from proeftuin.privacy import scrub_text

EXAMPLES = [
    "Treinen op de lijn Kortrijk-Gent hebben elke ochtend vertraging. Wat doet de NMBS daaraan?",
    "Hoeveel asielaanvragen werden vorig jaar ingediend en hoe lang duurt de behandeling gemiddeld?",
    "Hoeveel militairen worden ingezet voor de bewaking van de straten en wat kost dat?",
]
MAX_CHARS = 5000


def build_demo(model) -> gr.Blocks:
    router = model.unwrap_python_model().router if hasattr(model, "unwrap_python_model") else model

    def predict(text: str):
        text = (text or "")[:MAX_CHARS]
        if not text.strip():
            return "Typ eerst een vraag.", None, "", ""
        seen = scrub_text(text)
        row = router.predict([seen]).iloc[0]
        top = pd.DataFrame({
            "dienst": [row[f"label_{i}"] for i in (1, 2, 3)],
            "kans": [f"{row[f'probability_{i}']:.0%}" for i in (1, 2, 3)],
        })
        route = ("Automatisch doorgestuurd naar: " + row["label_1"]) if row["route"] == "automatisch" \
            else f"Naar een medewerker (zekerheid {row['confidence']:.0%} is lager dan de drempel)"
        words = ", ".join(w for w, _ in router.explain(seen)) or "(geen)"
        return route, top, words, seen

    with gr.Blocks(title="Vragenrouter") as demo:
        gr.Markdown("# Vragenrouter\nNaar welke dienst moet deze vraag? Dit voorstel komt van een AI-systeem.")
        text = gr.Textbox(label="Vraag of melding", lines=5, max_length=MAX_CHARS)
        button = gr.Button("Doorsturen", variant="primary")
        route = gr.Textbox(label="Beslissing")
        top = gr.Dataframe(label="Top 3 diensten", headers=["dienst", "kans"])
        words = gr.Textbox(label="Woorden die het zwaarst doorwogen")
        seen = gr.Textbox(label="Zo zag het model je tekst (persoonsgegevens verwijderd)")
        gr.Examples(EXAMPLES, inputs=text)
        button.click(predict, inputs=text, outputs=[route, top, words, seen], api_name="predict")
    return demo
