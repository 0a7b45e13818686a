"""eBox-besparing demo: enter yearly volumes and an activation rate, see the yearly saving and the curve.

build_demo() only builds the Blocks; the gallery mounts and launches it.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from proeftuin.engines.scenario import TOTAL, adoption_forecast_figure, scenario_curve_figure
from proeftuin.errors import ProeftuinError
from proeftuin.models import native

TITLE = "eBox-besparing"


def _euro(value: float) -> str:
    return f"EUR {value:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def build_demo(model) -> gr.Blocks:
    scenario = native(model)
    units = scenario.units

    def predict(activation_percent: float, *volumes: float):
        try:
            chosen = {u.type: v for u, v in zip(units, volumes, strict=True)}
            savings = scenario.savings(chosen, float(activation_percent) / 100)
        except ProeftuinError as exc:
            return f"**{exc.message}** {exc.hint or ''}", None, None
        table = pd.DataFrame({"documenttype": [u.description for u in units],
                              "besparing per jaar": [_euro(savings[u.type]) for u in units]})
        summary = (f"## Besparing per jaar: {_euro(savings[TOTAL])}\n"
                   f"bij een activatiegraad van {float(activation_percent):.0f} %. "
                   "Dit is een berekening met de eenheidsbedragen van de businesscase; de prognose is een "
                   "schatting door een eenvoudig model. Kijk de cijfers na voor je beslist.")
        figure = scenario_curve_figure(scenario.curve(volumes=chosen), float(activation_percent) / 100)
        return summary, table, figure

    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"# {TITLE}\nVul de volumes per jaar in en kies de activatiegraad.")
        rate = gr.Slider(0, 100, value=round(scenario.activation * 100), step=1, label="Activatiegraad (%)")
        inputs = [gr.Number(value=scenario.volumes.get(u.type, 0), minimum=0,
                            label=f"{u.description} (aantal per jaar)")
                  for u in units]
        button = gr.Button("Bereken", variant="primary")
        summary = gr.Markdown()
        table = gr.Dataframe(label="Besparing per documenttype", interactive=False)
        curve = gr.Plot(label="Besparing bij elke activatiegraad")
        gr.Plot(value=adoption_forecast_figure(scenario), label="Prognose van de activatie")
        button.click(predict, inputs=[rate, *inputs], outputs=[summary, table, curve], api_name="predict")
    return demo
