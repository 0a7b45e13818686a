"""`proeftuin`: the one entry point. Every command has --help, a clear Dutch error and exit code.

Tables are for people; `--json` prints one object for scripts (progress goes to stderr).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from proeftuin import wording
from proeftuin.errors import ProeftuinError
from proeftuin.settings import Settings, get_settings


class ProeftuinGroup(click.Group):
    """Turns a ProeftuinError anywhere into a message and a non-zero exit, without a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ProeftuinError as exc:
            click.secho(f"Fout: {exc.message}", fg="red", err=True)
            if exc.hint:
                click.echo(f"→ {exc.hint}", err=True)
            ctx.exit(exc.exit_code)


def _settings() -> Settings:
    return get_settings()


def _org_slugs(settings: Settings) -> set[str]:
    return {o.slug for o in settings.organisations}


def _pilot(settings: Settings, slug: str):
    from proeftuin.pilot import find_pilot

    return find_pilot(settings.pilots_dir, slug, _org_slugs(settings))


def _emit_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _progress(message: str) -> None:
    click.echo(message, err=True)


def _parse_params(values: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ProeftuinError(f"Parameter '{item}' heeft niet de vorm sleutel=waarde.",
                                 "Bijvoorbeeld: --param threshold=0.6")
        params[key.strip()] = value.strip()
    return params


def _metric_lines(metrics: dict[str, float], skip: str = "") -> list[str]:
    """Each quality measure as label, Dutch value and the value in words; then the facts of the run in words."""
    measures = [k for k in metrics if k != skip and not wording.is_fact(k)]
    width = max([len(wording.metric_label(k)) for k in measures] + [0])
    lines = [f"  {wording.metric_label(k):<{width}} {wording.value(k, metrics[k]):>8}  "
             f"{wording.in_words(k, metrics[k])}" for k in measures]
    counted = [k for k in metrics if wording.is_fact(k) and metrics[k] and not (k == "n" and "test_rows" in metrics)]
    facts = [wording.in_words(k, metrics[k]) for k in counted]
    return lines + [f"  {fact[:1].upper()}{fact[1:]}." for fact in facts]


@click.group(cls=ProeftuinGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="proeftuin")
def cli() -> None:
    """Proeftuin: de AI-proeftuin van de Zuid-West-Vlaamse gemeenten.

    Pilots trainen en vergelijken (MLflow), demo's tonen en lessen delen.
    Begin met `proeftuin list` en `proeftuin run vragenrouter`.
    """


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Resultaat als JSON.")
def validate(as_json: bool) -> None:
    """Controleer alle pilots streng (manifest, bestanden, pipeline.py, fase en geschiedenis, AI-Act-profiel).
    Stopt bij de eerste fout."""
    from proeftuin.governance.lifecycle import check_consistent
    from proeftuin.pilot import discover_pilots

    settings = _settings()
    pilots = discover_pilots(settings.pilots_dir, _org_slugs(settings), strict=True, import_pipelines=True)
    for pilot in pilots:
        check_consistent(pilot)
    if as_json:
        _emit_json({"valid": [p.slug for p in pilots]})
        return
    for pilot in pilots:
        click.echo(f"✓ {pilot.slug}")
    click.echo(f"{len(pilots)} pilot(s) in orde.")


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Resultaat als JSON.")
def list_pilots(as_json: bool) -> None:
    """Toon alle pilots met eigenaar, fase, thema en de hoofdmaat van hun kampioensmodel."""
    from proeftuin import tracking
    from proeftuin.pilot import BrokenPilot, discover_pilots

    settings = _settings()
    found = discover_pilots(settings.pilots_dir, _org_slugs(settings), strict=False)
    client = None
    try:
        client = tracking.connect(settings)
    except ProeftuinError as exc:
        click.echo(f"Let op: resultaten niet beschikbaar. {exc.message}", err=True)
    rows = []
    for pilot in found:
        if isinstance(pilot, BrokenPilot):
            rows.append({"slug": pilot.slug, "error": str(pilot.error)})
            continue
        m = pilot.manifest
        value = None
        if client is not None:
            _, value = tracking.champion_metric(client, pilot.slug, m.metric.name)
        rows.append({"slug": m.slug, "title": m.title, "owner": m.owner, "stage": m.stage, "theme": m.theme,
                     "metric": m.metric.name, "champion_metric": value})
    if as_json:
        _emit_json(rows)
        return
    if not rows:
        click.echo(f"Nog geen pilots in {settings.pilots_dir}.")
    for row in rows:
        if "error" in row:
            click.secho(f"{row['slug']:<22} ONGELDIG: {row['error'].splitlines()[0]}", fg="red")
            continue
        champion = wording.technical(row["metric"], row["champion_metric"]) if row["champion_metric"] is not None \
            else "nog geen model"
        click.echo(f"{row['slug']:<22} {row['title']:<30} {row['owner']:<12} {row['stage']:<11} "
                   f"{row['theme']:<20} {champion}")


@cli.command()
@click.option("--host", default=None, help="Adres om op te luisteren (standaard uit proeftuin.yaml: 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Poort (standaard uit proeftuin.yaml: 5000).")
def mlflow(host: str | None, port: int | None) -> None:
    """Start de MLflow-trackingserver op de opslag uit proeftuin.yaml (standaard SQLite en bestanden in de
    statusmap; of PostgreSQL en S3, zie storage: in proeftuin.yaml)."""
    import subprocess

    from proeftuin import storage
    from proeftuin.process import QUIET_MLFLOW, child_preexec, ensure_port_free, stop_on_sigterm, stop_process
    from proeftuin.services import mlflow_server_command, wait_until_healthy

    settings = _settings()
    host, port = host or settings.host, port or settings.ports.mlflow
    ensure_port_free(host, port, "MLflow")
    storage.check(settings, ("mlflow",))  # reachable, credentials right, no schema from a newer MLflow
    storage.apply_environment(settings)
    settings.ensure_state_dir()
    url = f"http://{host}:{port}"
    # no usage data, no background job runner (as for the hub's MLflow); an administrator may still set them
    env = {**QUIET_MLFLOW, **os.environ}
    stop_on_sigterm()
    # default signal actions (it stops on our SIGINT even when we inherited it ignored); dies with us
    process = subprocess.Popen(mlflow_server_command(settings, host, port), env=env,  # noqa: S603 (fixed argv)
                               preexec_fn=child_preexec)
    try:
        wait_until_healthy(url, process)
        click.secho(f"MLflow draait op {url}", fg="green")
        click.echo(f"Gebruik het in andere vensters met: export MLFLOW_TRACKING_URI={url}")
        click.echo("Stoppen: Ctrl-C.")
        code = process.wait()
    except KeyboardInterrupt:
        click.echo("\nMLflow wordt gestopt…")
        code = 0
    finally:
        stop_process(process, timeout=15)
    sys.exit(code)


@cli.command()
@click.argument("slug")
@click.option("--org", default=None, help="Organisatie die de run doet (standaard $PROEFTUIN_ORG of de eigenaar).")
@click.option("--param", "params", multiple=True, metavar="SLEUTEL=WAARDE", help="Overschrijf een parameter.")
@click.option("--data", "data_path", type=click.Path(path_type=Path), default=None,
              help="Eigen CSV-bestand in plaats van de voorbeelddata van de pilot.")
@click.option("--baseline", is_flag=True,
              help="Train de baseline van de pilot (vergelijkingspunt) in plaats van het model.")
@click.option("--json", "as_json", is_flag=True, help="Resultaat als JSON: run_id, model_uri, metrics, champion.")
def run(slug: str, org: str | None, params: tuple[str, ...], data_path: Path | None, baseline: bool,
        as_json: bool) -> None:
    """Train en evalueer een pilot, log alles in MLflow en promoveer het model als het beter is."""
    from proeftuin.runs import run_pilot

    settings = _settings()
    pilot = _pilot(settings, slug)
    organisation = org or os.environ.get("PROEFTUIN_ORG") or pilot.manifest.owner
    try:
        result = run_pilot(settings, pilot, organisation, _parse_params(params), data_path, baseline,
                           progress=_progress)
    except KeyboardInterrupt:  # training can take long: stopping it is a choice, not a crash
        click.secho("\nRun onderbroken: er is geen model geregistreerd en het kampioensmodel is ongewijzigd.",
                    fg="yellow", err=True)
        click.echo("→ Start de run opnieuw wanneer het past (kies eventueel minder epochs of max_train_rows).",
                   err=True)
        sys.exit(130)
    except MemoryError:  # anywhere in loading or training (the fine-tuning loop says which batch size it tried)
        raise ProeftuinError("Te weinig geheugen voor deze run; er is niets geregistreerd.",
                             "Kies een kleinere batch_size of max_length (of max_train_rows), sluit andere notebooks, "
                             "of train op een computer met meer geheugen.") from None
    if as_json:
        _emit_json({"run_id": result.run_id, "model_uri": result.model_uri, "metrics": result.metrics,
                    "champion": result.champion})
        return
    metric = pilot.manifest.metric.name
    click.echo(f"Run {result.run_id} ({organisation}): {wording.technical(metric, result.metrics.get(metric))}")
    click.echo(f"  → {wording.in_words(metric, result.metrics.get(metric))}")
    for line in _metric_lines(result.metrics, skip=metric):
        click.echo(line)
    click.echo("Nieuw kampioensmodel geregistreerd." if result.champion else
               "Geen nieuw kampioensmodel (het huidige is even goed of beter)." if not baseline else
               "Baseline gelogd ter vergelijking.")
    click.echo(f"Model: {result.model_uri}")


def _load_for_scoring(settings: Settings, slug: str, model_uri: str | None):
    from proeftuin import tracking
    from proeftuin.models import load_model

    tracking.connect(settings)
    uri = model_uri or f"models:/{slug}@{tracking.CHAMPION_ALIAS}"
    return uri, load_model(uri)


@cli.command()
@click.argument("slug")
@click.option("--data", "data_path", required=True, type=click.Path(path_type=Path),
              help="CSV met de kolommen van de pilot.")
@click.option("--model", "model_uri", default=None, help="Model-URI (standaard models:/<pilot>@champion).")
@click.option("--param", "params", multiple=True, metavar="SLEUTEL=WAARDE",
              help="Bv. text_column=... voor eigen kolomnamen.")
@click.option("--json", "as_json", is_flag=True, help="Resultaat als JSON.")
def evaluate(slug: str, data_path: Path, model_uri: str | None, params: tuple[str, ...], as_json: bool) -> None:
    """Meet hoe goed een model het doet op een eigen CSV-bestand met gekende antwoorden."""
    from proeftuin.runs import load_pilot_data

    settings = _settings()
    pilot = _pilot(settings, slug)
    uri, model = _load_for_scoring(settings, slug, model_uri)
    values = pilot.params(_parse_params(params))
    values["data_path"] = str(data_path)
    data = load_pilot_data(pilot, values)
    metrics = {k: float(v) for k, v in pilot.pipeline().evaluate(model, data).items()}
    metrics["skipped_empty"] = float(data.attrs.get("skipped_empty", metrics.get("skipped_empty", 0)))
    if as_json:
        _emit_json({"model_uri": uri, **metrics})
        return
    click.echo(f"Model {uri} op {data_path}:")
    for line in _metric_lines(metrics):
        click.echo(line)


@cli.command()
@click.argument("slug")
@click.option("--data", "data_path", required=True, type=click.Path(path_type=Path), help="CSV met de teksten.")
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV om de voorspellingen in te schrijven (één rij per invoerrij).")
@click.option("--model", "model_uri", default=None, help="Model-URI (standaard models:/<pilot>@champion).")
@click.option("--param", "params", multiple=True, metavar="SLEUTEL=WAARDE", help="Bv. text_column=bericht.")
def predict(slug: str, data_path: Path, output_path: Path, model_uri: str | None, params: tuple[str, ...]) -> None:
    """Stuur elke tekst door: top 3 diensten, hun kans en of het automatisch gaat of naar een mens."""
    from proeftuin.data import read_table, write_table_atomic
    from proeftuin.engines.registry import engine_for_task

    settings = _settings()
    pilot = _pilot(settings, slug)
    engine = engine_for_task(pilot.manifest.task)
    if not engine.predicts_rows:  # before loading anything: the answer does not depend on the model
        raise ProeftuinError(f"Pilot {slug} voorspelt geen rijen uit een CSV-bestand, dus `proeftuin predict` "
                             "kan er niets mee.",
                             engine.instead or f"Bekijk de pilot in de galerij (`proeftuin gallery`), of meet een "
                             f"model met `proeftuin evaluate {slug}`.")
    _, model = _load_for_scoring(settings, slug, model_uri)
    values = pilot.params(_parse_params(params))
    column = engine.input_column
    if column is None:
        frame = read_table(data_path, [])
        model_input = frame
    else:
        named = str(values.get(engine.column_parameter, column)) if engine.column_parameter else column
        frame = read_table(data_path, [named])
        model_input = frame[[named]].rename(columns={named: column})
        if pilot.manifest.personal_data:
            from proeftuin.privacy import scrub_frame

            model_input, _ = scrub_frame(model_input, [column])
    predictions = model.predict(model_input)
    echoed = [c for c in predictions.columns if c == column]  # the (scrubbed) input, already in the CSV
    result = frame.reset_index(drop=True).join(predictions.drop(columns=echoed).reset_index(drop=True))
    write_table_atomic(result, output_path)
    click.echo(engine.summarise(predictions, output_path))


@cli.command()
@click.argument("slug")
@click.option("--family", is_flag=True,
              help="Ook de runs van verwante pilots: de pilot waarvan deze een kopie is en alle kopieën ervan "
                   "in andere organisaties (proeftuin new --from), met een kolom voor de pilot.")
@click.option("--by", type=click.Choice(["organisation"]), default=None, help="Beste run per organisatie.")
@click.option("--limit", type=int, default=20, show_default=True, help="Hoeveel runs tonen (tabel).")
@click.option("--json", "as_json", is_flag=True, help="Alle runs als JSON.")
def compare(slug: str, family: bool, by: str | None, limit: int, as_json: bool) -> None:
    """Zet de runs van een pilot naast elkaar, de beste eerst (ook de baseline).

    \b
    Met --family ook de runs van de hele familie: het origineel en de kopieën in andere organisaties.
    Voorbeelden:
      proeftuin compare ebox-besparing
      proeftuin compare ebox-besparing --family --by organisation
    """
    from proeftuin import tracking
    settings = _settings()
    pilot = _pilot(settings, slug)
    relatives = _family_of(settings, pilot)
    members = [r["slug"] for r in relatives] if family else [slug]
    client = tracking.connect(settings)
    experiments = []
    for member in members:
        experiment = client.get_experiment_by_name(member)
        if experiment is not None and experiment.lifecycle_stage != "deleted":
            experiments.append(experiment.experiment_id)
    metric = pilot.manifest.metric
    rows = tracking.compare_runs(client, experiments, metric.name, metric.greater_is_better, by)
    if as_json:
        _emit_json({"pilot": slug, "metric": metric.name, "family": relatives, "runs": [r.as_dict() for r in rows]})
        return
    names = {o.slug: o.name for o in settings.organisations}
    if family:
        described = ", ".join(
            f"{r['slug']} ({names.get(r['owner'], r['owner'])}"
            + (f", kopie van {r['forked_from']})" if r["depth"] else ", origineel)") for r in relatives)
        click.echo(f"Familie van {slug}: {described}.")
        other = [r["slug"] for r in relatives if r["metric"] != metric.name]
        if other:
            click.echo(f"Let op: {', '.join(other)} meet(en) met een andere hoofdmaat; hun runs zonder "
                       f"{metric.name} staan onderaan.")
    if not rows:
        where = f"de familie van {slug}" if family else slug
        click.echo(f"Nog geen runs voor {where}. Start er een met `proeftuin run {slug} --org <jouw organisatie>`.")
    else:
        # the primary metric, then up to three other measures the runs logged (in the vocabulary's order)
        extra = [k for k in wording.METRICS if k != metric.name and not wording.is_fact(k)
                 and any(k in r.metrics for r in rows)][:3]
        columns = [(k, max(9, len(wording.metric_label(k)))) for k in [metric.name, *extra]]
        width = max([len("pilot")] + [len(r.pilot) for r in rows]) + 2
        first = f"{'pilot':<{width}}" if family else ""
        click.echo(f"{first}{'run':<10} {'organisatie':<14} {'soort':<9} "
                   + " ".join(f"{wording.metric_label(k):>{w}}" for k, w in columns))
        for row in rows[:limit]:
            first = f"{row.pilot:<{width}}" if family else ""
            click.echo(f"{first}{row.run_id[:8]:<10} {row.organisation:<14} {row.kind:<9} "
                       + " ".join(f"{wording.value(k, row.metrics.get(k)):>{w}}" for k, w in columns))
        if len(rows) > limit:
            click.echo(f"… en nog {len(rows) - limit} runs (zie --json of --limit).")
        direction = wording.direction(metric.greater_is_better)
        click.echo(f"Gerangschikt op {wording.metric_label(metric.name)} ({direction}), de beste eerst.")
        for k, _ in columns:
            if explanation := wording.explain(k):
                click.echo(f"  {wording.metric_label(k)}: {explanation}")
    if not family and len(relatives) > 1:
        others = ", ".join(r["slug"] for r in relatives if r["slug"] != slug)
        click.echo(f"→ Deze pilot hoort bij een familie (ook {others}). Zet alle runs naast elkaar met "
                   f"`proeftuin compare {slug} --family`.")


def _family_of(settings: Settings, pilot) -> list[dict[str, Any]]:
    """The pilot's family (origin first): slug, owner, forked_from, depth and primary metric of each member."""
    from proeftuin.pilot import Pilot, discover_pilots
    from proeftuin.scaffold import family

    found = {p.slug: p for p in discover_pilots(settings.pilots_dir, _org_slugs(settings), strict=False)
             if isinstance(p, Pilot)}
    found[pilot.slug] = pilot
    tree = family(pilot.slug, {slug: p.manifest.forked_from for slug, p in found.items()})
    return [{"slug": r.slug, "owner": found[r.slug].manifest.owner, "forked_from": r.forked_from, "depth": r.depth,
             "metric": found[r.slug].manifest.metric.name} for r in tree]


@cli.command()
@click.option("--host", default=None, help="Adres om op te luisteren (standaard 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Poort (standaard uit proeftuin.yaml: 7860).")
@click.option("--kiosk", is_flag=True, help="Inspiratiedag: grote letters en een knop 'Was dit nuttig?'.")
def gallery(host: str | None, port: int | None, kiosk: bool) -> None:
    """Start de demogalerij: één pagina met alle pilots en hun demo's (kampioensmodellen)."""
    import uvicorn

    from proeftuin.gallery import build_app
    from proeftuin.services import ensure_port_free

    settings = _settings()
    host, port = host or settings.host, port or settings.ports.gallery
    ensure_port_free(host, port, "de galerij")
    click.echo("Modellen laden…", err=True)
    app = build_app(settings, kiosk=kiosk)
    for entry in app.app.state.entries:
        status = {"ready": "klaar", "no_model": "nog geen model", "error": "fout"}[entry.status]
        click.echo(f"  {entry.slug:<22} {status}{': ' + entry.message if entry.status == 'error' else ''}", err=True)
    click.secho(f"Galerij: http://{host}:{port}/{'  (kioskmodus)' if kiosk else ''}", fg="green")
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)


@cli.group()
def feedback() -> None:
    """Feedback van bezoekers in kioskmodus ("Was dit nuttig?")."""


@feedback.command("export")
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV-bestand om de feedback in te schrijven.")
def feedback_export(output_path: Path) -> None:
    """Schrijf alle feedback (pilot, tijd, oordeel) naar een CSV-bestand."""
    from proeftuin.feedback import FeedbackStore

    store = FeedbackStore.existing(_settings())
    if store is None:
        raise ProeftuinError("Er is nog geen feedback verzameld.",
                             "Start de galerij met `proeftuin gallery --kiosk` om feedback te verzamelen.")
    count = store.export(output_path)
    click.echo(f"{count} reacties geschreven naar {output_path}.")


def _register_optional_commands() -> None:
    from proeftuin.cli.backup import backup, restore
    from proeftuin.cli.deploy import deploy
    from proeftuin.cli.docs import docs
    from proeftuin.cli.governance import ai_act, fria, promote, register_group, status
    from proeftuin.cli.hub import up
    from proeftuin.cli.ideas import idea
    from proeftuin.cli.migrate import migrate
    from proeftuin.cli.models import models
    from proeftuin.cli.privacy import scrub
    from proeftuin.cli.templates import kennisbank, new, update

    cli.add_command(scrub)
    cli.add_command(new)
    cli.add_command(update)
    cli.add_command(kennisbank)
    cli.add_command(docs)
    cli.add_command(up)
    cli.add_command(idea)
    cli.add_command(backup)
    cli.add_command(restore)
    cli.add_command(migrate)
    cli.add_command(deploy)
    cli.add_command(models)
    for command in (promote, ai_act, fria, register_group, status):
        cli.add_command(command)


_register_optional_commands()


def main() -> None:
    for noisy in ("mlflow", "alembic", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    cli(prog_name="proeftuin")


if __name__ == "__main__":
    main()
