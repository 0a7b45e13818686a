"""The model card logged with every run: what the model does, how well, and where a person decides."""

from __future__ import annotations

from typing import Any

from proeftuin import wording
from proeftuin.engines.registry import engine_for_model
from proeftuin.pilot import Pilot


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
        f"- Model: `{engine_for_model(model).describe(model)}`",
        f"- AI-verordening: risicoklasse **{m.ai_act.risk_class}**: {m.ai_act.reasoning}",
        "",
        "## Menselijk toezicht",
        m.human_oversight.description,
    ]
    if m.human_oversight.threshold_parameter:
        name = m.human_oversight.threshold_parameter
        lines.append(f"\nDrempel (`{name}`): {params.get(name)}. Lager dan deze zekerheid beslist een mens.")
    lines += ["", "## Resultaten op data die het model niet zag", "", "| maat | waarde | in woorden |",
              "| --- | --- | --- |"]
    for key, value in metrics.items():
        lines.append(f"| {wording.metric_label(key)} (`{key}`) | {wording.value(key, value)} | "
                     f"{wording.in_words(key, value)} |")
    if metric.name in metrics:
        main = metrics[metric.name]
        lines += ["", f"Hoofdmaat **{wording.metric_label(metric.name)}**: {wording.describe(metric.name, main)}."]
        if explanation := wording.explain(metric.name):
            lines += ["", explanation]
        if metric.baseline is not None:
            versus = wording.versus_baseline(metric.name, main, metric.baseline, metric.greater_is_better)
            how = f" ({metric.baseline_description})" if metric.baseline_description else ""
            lines += ["", f"Dat is {versus}{how}, verhouding {wording.ratio(main, metric.baseline)}."]
    lines += ["", "## Data", ""]
    for source in m.data:
        personal = ("bevat persoonsgegevens (worden eerst verwijderd)" if source.personal_data
                    else "geen persoonsgegevens")
        lines.append(f"- `{source.path}`: {source.description} Licentie: {source.licence}; {personal}.")
    lines += ["", "## Beperkingen", "",
              "Een model maakt fouten. Gebruik de voorspelling als voorstel; bij twijfel beslist een medewerker."]
    return "\n".join(lines) + "\n"
