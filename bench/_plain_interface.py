"""Baseline for bench/gallery_load.py: the same predict function in a plain gr.Interface(...).launch().

Default Gradio settings on purpose (queue, concurrency, no batching): what a pilot team would write first.
Usage: python bench/_plain_interface.py PORT   (tracking store from PROEFTUIN_HOME / MLFLOW_TRACKING_URI)
"""

from __future__ import annotations

import sys

import gradio as gr  # noqa: E402
from _common import ROOT

from proeftuin import tracking  # noqa: E402
from proeftuin.models import load_model  # noqa: E402
from proeftuin.pilot import import_file  # noqa: E402
from proeftuin.settings import load_settings  # noqa: E402


def main() -> None:
    port = int(sys.argv[1])
    settings = load_settings(ROOT / "proeftuin.yaml")
    tracking.connect(settings)
    model = load_model("models:/vragenrouter@champion")
    demo_module = import_file("plain_demo", ROOT / "pilots" / "vragenrouter" / "demo.py")
    batched = demo_module.build_demo(model).fns  # reuse the demo's own predict function
    predict_batch = next(fn.fn for fn in batched.values() if fn.api_name == "predict")

    def predict(text: str):
        route, top, words, seen = predict_batch([text])
        return route[0], top[0], words[0], seen[0]

    interface = gr.Interface(fn=predict, inputs=gr.Textbox(label="Vraag"),
                             outputs=[gr.Textbox(), gr.Label(num_top_classes=3), gr.Textbox(), gr.Textbox()],
                             api_name="predict")
    interface.launch(server_name="127.0.0.1", server_port=port)


if __name__ == "__main__":
    main()
