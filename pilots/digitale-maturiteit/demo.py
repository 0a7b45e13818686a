"""Digitale maturiteit demo: fill in the scan (one slider per area), see your profile and a training track.

build_demo() only builds the Blocks; the gallery mounts and launches it. Nothing typed is stored.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from proeftuin.engines.survey import AREAS, ITEMS_PER_AREA, MIN_GROUP
from proeftuin.models import native

TITLE = "Digitale maturiteit"


def build_demo(model) -> gr.Blocks:
    profiler = native(model)

    def predict(*levels: float):
        answers = {f"{area}_{j}": float(level) for area, level in zip(AREAS, levels, strict=True)
                   for j in range(1, ITEMS_PER_AREA + 1)}
        row = profiler.predict(pd.DataFrame([answers])).iloc[0]
        scores = pd.DataFrame({"domein": [AREAS[a] for a in AREAS], "score (0-100)": [row[a] for a in AREAS]})
        text = (f"## Profiel: {row['profiel']}\n**Voorgesteld traject:** {row['opleidingstraject']}\n\n"
                "Dit voorstel komt van een AI-systeem en is alleen een hulp bij je eigen keuze; het wordt "
                "niet gebruikt om medewerkers te beoordelen.")
        return text, scores

    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"# {TITLE}\nHoe vaardig voel je je? 1 = helemaal niet, 5 = helemaal wel. Je antwoorden "
                    "worden niet bewaard.")
        sliders = [gr.Slider(1, 5, value=3, step=0.5, label=label) for label in AREAS.values()]
        button = gr.Button("Toon mijn profiel", variant="primary")
        result = gr.Markdown()
        scores = gr.Dataframe(label="Jouw score per domein", interactive=False)
        button.click(predict, inputs=sliders, outputs=[result, scores], api_name="predict")
        gr.Markdown(f"## Organisaties tegenover het regionale gemiddelde\nAlleen groepen van minstens {MIN_GROUP} "
                    "respondenten worden getoond; kleinere groepen staan leeg.")
        gr.Dataframe(value=pd.DataFrame(profiler.aggregates), interactive=False)
    return demo
