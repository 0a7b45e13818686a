"""`proeftuin scrub`: remove personal data from one column of a CSV file."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import click

from proeftuin.files import atomic_write


class ScrubInputError(click.ClickException):
    """Bad input for `scrub`: the message tells the user what to fix."""


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data[:65536]:
        raise ScrubInputError(
            f"'{path}' is geen tekstbestand (het bevat nul-bytes, zoals een Excel-, PDF- of ZIP-bestand). "
            "Open het in Excel en sla het op via 'Opslaan als' > 'CSV UTF-8 (door lijstscheidingsteken gescheiden)'."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScrubInputError(
            f"'{path}' is geen UTF-8-bestand (ongeldige byte op positie {exc.start}). "
            "Sla het in Excel op via 'Opslaan als' > 'CSV UTF-8 (door lijstscheidingsteken gescheiden)', "
            "of zet het om met: iconv -f cp1252 -t utf-8 IN.csv > UIT.csv"
        ) from exc



@click.command("scrub")
@click.option("--input", "input_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV-bestand met de teksten (UTF-8, gescheiden door ',' of ';').")
@click.option("--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Nieuw CSV-bestand; alle rijen, kolommen en de volgorde blijven behouden.")
@click.option("--column", "columns", required=True, multiple=True,
              help="Kolom met vrije tekst die persoonsgegevens kan bevatten (mag herhaald worden).")
@click.option("--report", is_flag=True, help="Toon hoeveel persoonsgegevens per soort vervangen zijn.")
@click.option("--json", "as_json", is_flag=True, help="Toon het rapport als JSON (voor scripts).")
def scrub(input_path: Path, output_path: Path, columns: tuple[str, ...], report: bool, as_json: bool) -> None:
    """Verwijder persoonsgegevens uit een kolom van een CSV-bestand.

    Namen, rijksregisternummers, IBAN-rekeningnummers, telefoonnummers, e-mailadressen,
    adressen en nummerplaten worden vervangen door een label zoals [NAAM] of [IBAN].
    Alle andere kolommen, de rijen en hun volgorde blijven ongewijzigd.

    Voorbeeld: proeftuin scrub --input meldingen.csv --output meldingen_anoniem.csv --column bericht --report
    """
    from proeftuin.data import sniff_delimiter  # here: `proeftuin --help` does not load pandas
    from proeftuin.privacy import TAGS, default_scrubber

    if not input_path.is_file():
        raise ScrubInputError(f"Invoerbestand '{input_path}' bestaat niet.")
    if output_path.resolve() == input_path.resolve():
        raise ScrubInputError("Kies een ander uitvoerbestand dan het invoerbestand: het origineel blijft bewaard.")
    if not output_path.parent.is_dir():
        raise ScrubInputError(f"De map '{output_path.parent}' voor het uitvoerbestand bestaat niet.")
    text = _read_text(input_path)
    if not text.strip():
        raise ScrubInputError(f"'{input_path}' is leeg: er is geen kopregel met kolomnamen.")
    delimiter = sniff_delimiter(text)
    csv.field_size_limit(2**31 - 1)  # very long messages are valid cells
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise ScrubInputError(f"'{input_path}' is geen geldig CSV-bestand: {exc}.") from exc
    header, body = rows[0], rows[1:]
    missing = [c for c in columns if c not in header]
    if missing:
        raise ScrubInputError(
            f"Kolom {', '.join(repr(c) for c in missing)} niet gevonden in '{input_path}'. "
            f"Gevonden kolommen: {', '.join(repr(c) for c in header)} (scheidingsteken '{delimiter}')."
        )
    indices = [header.index(c) for c in columns]
    scrubber = default_scrubber()
    counts = {kind: 0 for kind in TAGS}
    cells = sum(len(row[i]) for row in body for i in indices if i < len(row))
    # a progress bar on stderr for work that takes more than a few seconds (stdout stays clean for --json)
    with click.progressbar(body, label="Persoonsgegevens verwijderen", file=sys.stderr,
                           hidden=cells < 2_000_000 or not sys.stderr.isatty()) as rows_in_progress:
        for row in rows_in_progress:
            for i in indices:
                if i < len(row) and row[i]:
                    result = scrubber.scrub(row[i])
                    row[i] = result.text
                    for kind, n in result.counts.items():
                        counts[kind] += n

    try:
        with atomic_write(output_path, newline="") as handle:  # a failure leaves no half file behind
            writer = csv.writer(handle, delimiter=delimiter, lineterminator="\r\n" if "\r\n" in text else "\n")
            writer.writerow(header)
            writer.writerows(body)
    except OSError as exc:
        raise ScrubInputError(
            f"Kon '{output_path}' niet schrijven ({exc.strerror or exc}). Er is niets half geschreven: "
            "het invoerbestand en een eerdere uitvoer zijn ongewijzigd. Maak ruimte vrij of kies een andere map."
        ) from exc

    if as_json:
        click.echo(json.dumps({"rows": len(body), "columns": list(columns), "counts": counts}, ensure_ascii=False))
    elif report:
        click.echo(f"{len(body)} rijen verwerkt, kolom(men): {', '.join(columns)}")
        for kind, tag in TAGS.items():
            click.echo(f"  {tag:<22} {counts[kind]}")
