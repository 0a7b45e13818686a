"""The model card logged with every run: what the model does, how well, and where a person decides."""

from __future__ import annotations

from typing import Any

from proeftuin.pilot import Pilot

_METRIC_NAMES = {
    "macro_f1": "macro-F1 (gemiddelde over alle klassen)",
    "accuracy": "juist (top 1)",
    "top3_accuracy": "juiste antwoord in de top 3",
    "auto_share": "aandeel automatisch doorgestuurd",
    "auto_accuracy": "juist binnen het automatisch doorgestuurde deel",
}


def _fmt(value: float) -> str:
    return f"{value:.3f}".replace(".", ",")


def model_card(pilot: Pilot, metrics: dict[str, float], params: dict[str, Any], kind: str, model: Any) -> str:
    m = pilot.manifest
    metric = m.metric
    lines = [
        f"# Modelkaart: {m.title}",
        "",
        f"**Vraag.** {m.question}",
        "",
        f"- Eigenaar: {m.owner}; deelnemers: {', '.join(m.participants) or '—'}",
        f"- Thema: {m.theme}; fase: {m.stage}; sjabloon: {m.template}",
        f"- Soort run: {'baseline (vergelijkingspunt)' if kind == 'baseline' else 'model'}",
        f"- Model: `{type(getattr(model, 'estimator', model)).__name__}`",
        f"- AI-verordening: risicoklasse **{m.ai_act.risk_class}**: {m.ai_act.reasoning}",
        "",
        "## Menselijk toezicht",
        m.human_oversight.description,
    ]
    if m.human_oversight.threshold_parameter:
        name = m.human_oversight.threshold_parameter
        lines.append(f"\nDrempel (`{name}`): {params.get(name)}. Lager dan deze zekerheid beslist een mens.")
    lines += ["", "## Resultaten op data die het model niet zag", "", "| maat | waarde |", "| --- | --- |"]
    for key, value in metrics.items():
        lines.append(f"| {_METRIC_NAMES.get(key, key)} | {_fmt(value) if abs(value) < 10 else int(value)} |")
    if metric.baseline is not None and metric.name in metrics:
        ratio = metrics[metric.name] / metric.baseline if metric.baseline else float("nan")
        lines += ["", f"Hoofdmaat **{metric.name}**: {_fmt(metrics[metric.name])} tegenover baseline "
                      f"{_fmt(metric.baseline)} ({metric.baseline_description}), verhouding {ratio:.2f}×."]
    lines += ["", "## Data", ""]
    for source in m.data:
        personal = "bevat persoonsgegevens (worden eerst verwijderd)" if source.personal_data else "geen persoonsgegevens"
        lines.append(f"- `{source.path}`: {source.description} Licentie: {source.licence}; {personal}.")
    lines += ["", "## Beperkingen", "",
              "Een model maakt fouten. Gebruik de voorspelling als voorstel; bij twijfel beslist een medewerker."]
    return "\n".join(lines) + "\n"
