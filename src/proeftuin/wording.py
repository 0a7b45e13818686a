"""Metrics in words: one Dutch vocabulary for metric names and number formatting.

The CLI, the gallery, the portal, the model card and the site all show metrics through this module, so a
figure reads the same everywhere and a visitor who is not an ML expert gets a sentence, not a float:

    >>> describe("accuracy", 0.5432)
    'de juiste dienst in 54 van de 100 vragen (nauwkeurigheid 0,54)'
    >>> describe("yearly_saving_eur", 42257.4)
    'jaarlijkse besparing € 42.257'

Every metric the engines and pilots log has a `MetricWords` entry in `METRICS`: a short technical label
(`macro-F1`, `recall@5`), a plain-Dutch explanation, a unit (how the technical value is written) and a
phrase (the value in words). Unknown names degrade gracefully: the label is the name with underscores as
spaces and the value is written as a Dutch number. Numbers use Dutch notation (decimal comma, thousands dot,
`€ 42.257`, `12 %`); None, NaN and infinity are written as a dash, never as "nan".

Only people see these strings: `--json` output keeps the raw numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

DASH = "—"
MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
          "november", "december")

# --------------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------------


def _finite(value: Any) -> float | None:
    """The value as a float, or None when there is none to show (None, NaN, infinity, not a number)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number_ = float(value)
    except (TypeError, ValueError):
        return None
    return number_ if math.isfinite(number_) else None


def number(value: float | None, digits: int = 2) -> str:
    """Dutch notation: 0,53 and 3.048 (a dash when there is no value, NaN or infinity).

    A small value keeps two significant digits (a forecast error of 0,0023 is not "0,00").
    """
    x = _finite(value)
    if x is None:
        return DASH
    if digits and 0 < abs(x) < 0.1:
        digits = min(6, max(digits, 1 - math.floor(math.log10(abs(x)))))
    formatted = f"{x:,.{digits}f}"
    if formatted.lstrip("-").strip("0.,") == "":
        formatted = formatted.lstrip("-")  # no "-0,00"
    return formatted.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def decimal(value: float) -> str:
    """A plain value as short as it goes, with a decimal comma: 1.5 -> "1,5", 4.0 -> "4", 0.25 -> "0,25"."""
    return f"{value:g}".replace(".", ",")


def count(value: float | None) -> str:
    """A whole number with a thousands dot: 3.048."""
    return number(value, 0)


def euro(value: float | None, digits: int = 0) -> str:
    """An amount in euro, the sign before the amount with a space: € 42.257 (€ -1.200 when negative)."""
    formatted = number(value, digits) if digits else count(value)
    return DASH if formatted == DASH else f"€ {formatted}"


def percent(fraction: float | None, digits: int | None = None) -> str:
    """A fraction (0..1) as a percentage with a space before the sign: 0.12 -> "12 %", 0.004 -> "0,4 %"."""
    x = _finite(fraction)
    if x is None:
        return DASH
    if digits is None:
        digits = 1 if 0 < abs(x * 100) < 9.95 and round(x * 100) != x * 100 else 0
    return f"{number(x * 100, digits) if digits else count(x * 100)} %"


def out_of_100(fraction: float | None) -> str:
    """A fraction (0..1) as "54 van de 100"; never rounds a near miss up to 100 or a few down to 0."""
    x = _finite(fraction)
    if x is None:
        return DASH
    n = round(x * 100)
    if n >= 100 and x < 1:
        return "meer dan 99 van de 100"
    if n <= 0 < x:
        return "minder dan 1 van de 100"
    return f"{n} van de 100"


def date(timestamp_ms: int | float | None) -> str:
    """A millisecond timestamp (as MLflow keeps them) as "14 november 2023"."""
    x = _finite(timestamp_ms)
    if not x:
        return DASH
    day = dt.datetime.fromtimestamp(x / 1000)
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


# --------------------------------------------------------------------------------------------------
# The vocabulary
# --------------------------------------------------------------------------------------------------

UNITS = ("fraction", "score", "euro", "count")  # how the technical value is written


@dataclass(frozen=True)
class MetricWords:
    """How people read one metric.

    label: short technical label (`macro-F1`); explanation: what it means, in plain Dutch; unit: one of
    UNITS; phrase: the value in words, with a placeholder from `_forms` (`{of100}`, `{pct}`, `{pp}`,
    `{score100}`, `{count}`, `{euro}`, `{rank}`, `{quality}`, `{value}`), or "" when label + value says it
    all; greater_is_better: None when neither direction is simply better (a trade-off); phrase_one: the
    singular phrase of a count, for the value 1.
    """

    label: str
    explanation: str
    unit: str = "score"
    phrase: str = ""
    greater_is_better: bool | None = True
    phrase_one: str = ""  # the phrase for exactly one (a count): "1 lege tekst overgeslagen"


METRICS: dict[str, MetricWords] = {
    # text routing (textclf.routing_metrics)
    "macro_f1": MetricWords(
        "macro-F1",
        "Hoe goed het model de juiste dienst kiest, gemiddeld over alle diensten: een kleine dienst telt even "
        "zwaar als een grote. Van 0 tot 1, hoger is beter.",
        "fraction", "score {score100} voor de juiste dienst, gemiddeld over alle diensten"),
    "accuracy": MetricWords(
        "nauwkeurigheid", "Hoe vaak de eerste keuze van het model de juiste dienst is.",
        "fraction", "de juiste dienst in {of100} vragen"),
    "top3_accuracy": MetricWords(
        "top-3-nauwkeurigheid", "Hoe vaak de juiste dienst bij de eerste 3 voorstellen van het model zit.",
        "fraction", "de juiste dienst bij de eerste 3 voorstellen in {of100} vragen"),
    "auto_share": MetricWords(
        "aandeel automatisch",
        "Welk deel van de vragen het model zeker genoeg is om zonder mens door te sturen; de rest beslist een "
        "medewerker (manuele triage). Meer is niet altijd beter: het hangt af van de drempel.",
        "fraction", "{pct} van de vragen gaat automatisch door, de rest beslist een medewerker", None),
    "auto_accuracy": MetricWords(
        "nauwkeurigheid automatisch",
        "Hoe vaak de dienst juist is bij de vragen die het model zelf doorstuurt.",
        "fraction", "van wat automatisch doorgaat, komt {of100} bij de juiste dienst"),
    # retrieval (retrieval.retrieval_metrics)
    "recall_at_1": MetricWords(
        "recall@1", "Hoe vaak het juiste antwoord als eerste getoond wordt.",
        "fraction", "het juiste antwoord staat bovenaan in {of100} vragen"),
    "recall_at_5": MetricWords(
        "recall@5", "Hoe vaak het juiste antwoord bij de eerste 5 zit.",
        "fraction", "het juiste antwoord zit bij de eerste 5 in {of100} vragen"),
    "mrr": MetricWords(
        "MRR",
        "Hoe hoog het juiste antwoord gemiddeld in de lijst staat (mean reciprocal rank): 1 als het altijd "
        "bovenaan staat, 0,5 als het gemiddeld op de tweede plaats staat. Hoger is beter.",
        "score", "het juiste antwoord staat gemiddeld rond plaats {rank}"),
    # scenario (scenario.forecast_metrics)
    "forecast_mae": MetricWords(
        "MAE van de prognose",
        "Hoeveel de voorspelde activatiegraad gemiddeld afwijkt van wat in de laatste maanden echt gemeten "
        "werd. Lager is beter.",
        "fraction", "de prognose zit gemiddeld {pp} naast de gemeten activatie", False),
    "yearly_saving_eur": MetricWords(
        "jaarlijkse besparing",
        "Wat het per jaar bespaart bij de gekozen activatiegraad, berekend met de eenheidsbedragen van de "
        "businesscase.",
        "euro"),
    "forecast_activation_12m": MetricWords(
        "activatie na 12 maanden",
        "Welk deel van de ontvangers volgens de prognose 12 maanden na de laatste meting een actieve eBox heeft.",
        "fraction", "volgens de prognose {pct} activatie na 12 maanden"),
    # survey profiles (survey.profile_metrics)
    "silhouette": MetricWords(
        "silhouetscore",
        "Hoe duidelijk de profielen van elkaar verschillen, van -1 tot 1: vanaf 0,5 een duidelijke indeling, "
        "onder 0,25 overlappen de profielen sterk. Hoger is beter.",
        "score", "{quality} onderscheid tussen de profielen"),
    "profiles_used": MetricWords(
        "gebruikte profielen", "Hoeveel profielen echt voorkomen bij de respondenten die het model niet zag.",
        "count", "{count} profielen komen voor", None, "1 profiel komt voor"),
    "smallest_profile_share": MetricWords(
        "aandeel kleinste profiel",
        "Welk deel van de respondenten in het kleinste profiel valt; heel weinig betekent een profiel voor "
        "bijna niemand.",
        "fraction", "het kleinste profiel telt {pct} van de respondenten", None),
    # what every run logs (runs.run_pilot) and the engines count
    "n": MetricWords(
        "testvoorbeelden", "Op hoeveel voorbeelden die het model niet zag er gemeten werd.",
        "count", "gemeten op {count} voorbeelden", None, "gemeten op 1 voorbeeld"),
    "skipped_empty": MetricWords(
        "lege teksten overgeslagen", "Teksten zonder inhoud: die kan het model niet beoordelen.",
        "count", "{count} lege teksten overgeslagen", None, "1 lege tekst overgeslagen"),
    "train_rows": MetricWords(
        "trainingsrijen", "Op hoeveel rijen het model leerde.", "count", "geleerd van {count} rijen", None,
        "geleerd van 1 rij"),
    "test_rows": MetricWords(
        "testrijen", "Op hoeveel rijen die het model tijdens het leren niet zag, het getest werd.",
        "count", "getest op {count} rijen die het model niet zag", None, "getest op 1 rij die het model niet zag"),
}

# privacy_<kind>: what the scrubber removed before training (kinds as in privacy.TAGS)
PRIVACY_PREFIX = "privacy_"
PRIVACY_KINDS = {  # kind -> (one, more)
    "naam": ("naam", "namen"),
    "rijksregisternummer": ("rijksregisternummer", "rijksregisternummers"),
    "iban": ("IBAN-nummer", "IBAN-nummers"),
    "telefoon": ("telefoonnummer", "telefoonnummers"),
    "email": ("e-mailadres", "e-mailadressen"),
    "adres": ("adres", "adressen"),
    "nummerplaat": ("nummerplaat", "nummerplaten"),
}

METRIC_NAMES = {name: words.label for name, words in METRICS.items()}  # name -> label, for older callers
FACTS = ("n", "train_rows", "test_rows", "skipped_empty")  # facts about a run, not measures of quality


def is_fact(name: str) -> bool:
    """True for what a run counts (rows, skipped texts, removed personal data), not how good the model is."""
    return name in FACTS or name.startswith(PRIVACY_PREFIX)


def metric(name: str) -> MetricWords:
    """The words for a metric; an unknown one gets its name with spaces for underscores, and no phrase."""
    known = METRICS.get(name)
    if known is not None:
        return known
    if name.startswith(PRIVACY_PREFIX):
        kind = name[len(PRIVACY_PREFIX):]
        one, what = PRIVACY_KINDS.get(kind, (kind.replace("_", " "),) * 2)
        return MetricWords(f"verwijderd: {what}",
                           f"Hoeveel {what} uit de teksten verwijderd werden voor het trainen en opslaan.",
                           "count", f"{{count}} {what} verwijderd voor het trainen", None,
                           f"1 {one} verwijderd voor het trainen")
    return MetricWords(name.replace("_", " "), "", "score", "", None)


def metric_label(name: str) -> str:
    """The short technical label: macro_f1 -> "macro-F1"."""
    return metric(name).label


def explain(name: str) -> str:
    """What the metric means, in plain Dutch ("" for an unknown metric)."""
    return metric(name).explanation


def value(name: str, value_: float | None) -> str:
    """The technical value in the metric's unit: 0,54, € 42.257, 3.048 (a dash when there is none)."""
    unit = metric(name).unit
    if unit == "euro":
        return euro(value_)
    if unit == "count":
        return count(value_)
    return number(value_)


def _quality(silhouette: float) -> str:
    """Silhouette in words (Kaufman & Rousseeuw's bands)."""
    if silhouette >= 0.7:
        return "sterk"
    if silhouette >= 0.5:
        return "duidelijk"
    if silhouette >= 0.25:
        return "zwak"
    return "nauwelijks"


def _forms(name: str, x: float) -> dict[str, str]:
    """Every way a finite value can appear in a phrase."""
    return {"value": value(name, x), "of100": out_of_100(x), "pct": percent(x), "score100": f"{round(x * 100)} op 100",
            "pp": f"{number(x * 100, 1)} procentpunt", "count": count(x), "euro": euro(x),
            "rank": number(1 / x, 1) if x > 0 else DASH, "quality": _quality(x)}


def in_words(name: str, value_: float | None) -> str:
    """The value as a visitor understands it: "de juiste dienst in 54 van de 100 vragen".

    Without a phrase (an amount, an unknown metric) it is the label and the value: "jaarlijkse besparing € 42.257".
    """
    words = metric(name)
    x = _finite(value_)
    if x is None or not words.phrase:
        return f"{words.label} {value(name, x)}"
    if words.phrase_one and words.unit == "count" and x == 1:
        return words.phrase_one
    return words.phrase.format(**_forms(name, x))


def technical(name: str, value_: float | None) -> str:
    """Label and value side by side: "macro-F1 0,54"."""
    return f"{metric_label(name)} {value(name, value_)}"


def describe(name: str, value_: float | None) -> str:
    """One line in words with the technical figure beside it.

    "de juiste dienst in 54 van de 100 vragen (nauwkeurigheid 0,54)"; an amount or a count already is the
    figure ("jaarlijkse besparing € 42.257", "gemeten op 54 voorbeelden"), and no value reads "macro-F1 —".
    """
    words = in_words(name, value_)
    if _finite(value_) is None or not metric(name).phrase or metric(name).unit in ("count", "euro"):
        return words
    return f"{words} ({technical(name, value_)})"


def direction(greater_is_better: bool | None) -> str:
    """ "hoger is beter" / "lager is beter" ("" when neither is simply better)."""
    if greater_is_better is None:
        return ""
    return "hoger is beter" if greater_is_better else "lager is beter"


def difference(name: str, value_: float | None, baseline: float | None) -> str:
    """The signed difference with the baseline in the metric's unit: "+0,08", "-0,012", "+€ 1.200"."""
    x, b = _finite(value_), _finite(baseline)
    if x is None or b is None:
        return DASH
    diff = x - b
    sign = "+" if diff >= 0 else "-"
    return f"{sign}{value(name, abs(diff))}"


def ratio(value_: float | None, baseline: float | None) -> str:
    """How many times the baseline: "1,17×" (a dash when the baseline is 0 or missing)."""
    x, b = _finite(value_), _finite(baseline)
    if x is None or not b:
        return DASH
    return f"{number(x / b)}×"


def versus_baseline(name: str, value_: float | None, baseline: float | None,
                    greater_is_better: bool | None = None) -> str:
    """The comparison with the baseline in words: "beter dan de baseline (0,46): +0,08"."""
    x, b = _finite(value_), _finite(baseline)
    if x is None or b is None:
        return "geen vergelijking met de baseline mogelijk"
    better = metric(name).greater_is_better if greater_is_better is None else greater_is_better
    if x == b:
        verdict = "even goed als"
    elif better is None:
        verdict = "hoger dan" if x > b else "lager dan"
    else:
        verdict = "beter dan" if (x > b) == better else "slechter dan"
    return f"{verdict} de baseline ({value(name, b)}): {difference(name, x, b)}"
