"""Tests of the personal-data scrubber: per-type cases, corpus goals and the `scrub` command."""

from __future__ import annotations

import json
import logging
import math
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from privacy_corpus import evaluate, generate

from proeftuin.cli.privacy import scrub
from proeftuin.privacy import TAGS, Scrubber, scrub_frame, scrub_text

GOALS = {"rijksregisternummer": 0.99, "iban": 0.99, "telefoon": 0.99, "email": 0.99,
         "nummerplaat": 0.95, "adres": 0.90, "naam": 0.90}


def kinds(text: str) -> list[str]:
    return [kind for kind, _, _ in Scrubber().scrub(text).findings]


@pytest.mark.parametrize("number", [
    "85.07.30-033.28", "85073003328", "85 07 30 033 28", "85-07-30-033-28", "850730-033-28",
    "02.03.15-123.04", "02031512304",  # born after 2000: checksum over 2 + number
])
def test_valid_register_numbers_are_tagged(number):
    assert scrub_text(f"Mijn rijksregisternummer is {number}.") == "Mijn rijksregisternummer is [RIJKSREGISTERNUMMER]."


@pytest.mark.parametrize("number", ["85073003327", "12345678901", "2024.118.734.12"])
def test_checksum_invalid_numbers_without_a_register_cue_survive(number):
    assert number in scrub_text(f"Dossier {number} is afgesloten.")


@pytest.mark.parametrize("text", [
    "Mijn rijksregisternummer is 85.07.30-033.29.",  # wrong check digits
    "RRN: 8507300332 (een cijfer te weinig)", "INSZ 850730-033.288", "Nationaal nummer: 85 07 30 033 27",
    "Dossier 85.07.30-033.29 is afgesloten.",  # the register's own notation, whatever its check digits
])
def test_mistyped_register_numbers_are_removed_where_context_says_so(text):
    assert "[RIJKSREGISTERNUMMER]" in scrub_text(text) and "033" not in scrub_text(text)


@pytest.mark.parametrize("iban", [
    "BE71 0961 2345 6769", "BE71096123456769", "NL91 ABNA 0417 1643 00", "DE89370400440532013000",
    "FR14 2004 1010 0505 0001 3M02 606", "LU28 0019 4006 4475 0000",
])
def test_valid_ibans_are_tagged(iban):
    assert scrub_text(f"Stort op {iban} a.u.b.") == "Stort op [IBAN] a.u.b."


@pytest.mark.parametrize("iban", ["BE72 0961 2345 6769", "NL92ABNA0417164300", "BE71 0961 2345 6768"])
def test_invalid_ibans_survive(iban):
    assert iban in scrub_text(f"Rekening {iban} werd geweigerd.")


@pytest.mark.parametrize("phone", [
    "056 23 45 67", "056/23.45.67", "056/234567", "0562345 67", "+32 56 23 45 67", "0032 56 23 45 67",
    "+32 (0)56 23 45 67", "09 234 56 78", "02/345.67.89", "0478 12 34 56", "0478/12.34.56",
    "0478123456", "+32478123456", "+32 (0)478 12 34 56", "0032 478 12 34 56",
])
def test_belgian_phone_numbers_are_tagged(phone):
    assert scrub_text(f"Bel mij op {phone} na 17 uur.") == "Bel mij op [TELEFOON] na 17 uur."


@pytest.mark.parametrize("text", [
    "Ingediend op 01/02/2024 en 01.02.2024.", "Ondernemingsnummer 0477.455.922 staat op de factuur.",
    "Factuur 2024/118734 bedraagt € 1.250,00.", "Referentie 2023-0012345 en klantnummer 1234567890.",
])
def test_dates_amounts_and_references_survive(text):
    assert scrub_text(text) == text


def test_email_address_and_plates():
    assert scrub_text("Mail naar jan.de-smet+gemeente@telenet.be.") == "Mail naar [EMAIL]."
    for plate in ["1-ABC-123", "2ABC123", "1 ABC 123", "ABC-123", "123-ABC"]:
        assert scrub_text(f"De wagen {plate} staat fout.") == "De wagen [NUMMERPLAAT] staat fout."
    assert scrub_text("Zie BTW-123 en OMV-2023-0457.") == "Zie BTW-123 en OMV-2023-0457."


@pytest.mark.parametrize("address", [
    "Kortrijksestraat 12", "Grote Markt 5", "Lange Steenstraat 3 bus 2", "Sint-Janslaan 44A/3",
    "Doorniksesteenweg 101, 8500 Kortrijk", "8587 Spiere-Helkijn", "Burgemeester Vercruysselaan 14",
])
def test_addresses_are_tagged(address):
    assert scrub_text(f"Ik woon in de {address} sinds mei.") == "Ik woon in de [ADRES] sinds mei."


@pytest.mark.parametrize("name", [
    "Jan De Smet", "Fatima El Amrani", "Piotr Wiśniewski", "Mehmet Yılmaz", "Sofie Van Damme",
    "Marie-Claire Dubois", "Vanderstraeten Godelieve", "K. Vandenbroucke",
])
def test_names_without_cue_word_are_tagged(name):
    assert scrub_text(f"Gisteren belde {name} over de container.") == "Gisteren belde [NAAM] over de container."


def test_names_after_cue_words_and_particles_mid_sentence():
    # the form of address belongs to the mention: it gives the gender away
    assert scrub_text("Ik sprak met mevrouw Quaghebeur.") == "Ik sprak met [NAAM]."
    text = "Het dossier van De Smet en El Amrani ligt klaar."
    assert scrub_text(text) == "Het dossier van [NAAM] en [NAAM] ligt klaar."


def test_ordinary_words_and_municipalities_survive():
    text = ("Goedemorgen, gisteren was het stadhuis van Kortrijk gesloten. Graag had ik in Waregem of "
            "De Panne een afspraak gemaakt bij De Lijn op maandag 3 maart.")
    assert scrub_text(text) == text


def test_findings_point_into_the_original_text():
    text = "Jan Peeters, 0478 12 34 56, jan@telenet.be"
    result = Scrubber().scrub(text)
    assert [(k, text[s:e]) for k, s, e in result.findings] == [
        ("naam", "Jan Peeters"), ("telefoon", "0478 12 34 56"), ("email", "jan@telenet.be")]
    assert result.counts == {"naam": 1, "telefoon": 1, "email": 1}
    assert set(TAGS) == set(GOALS)


def test_non_strings_pass_through_and_frame_is_copied():
    assert scrub_text(None) is None
    assert scrub_text(42) == 42
    df = pd.DataFrame({"id": [1, 2, 3], "tekst": ["Bel 0478 12 34 56", None, ""], "x": [1.5, math.nan, 2]})
    out, counts = scrub_frame(df, ["tekst"])
    assert out["tekst"].tolist()[0] == "Bel [TELEFOON]" and pd.isna(out["tekst"].tolist()[1])
    assert df["tekst"][0] == "Bel 0478 12 34 56"
    assert counts == {"telefoon": 1}
    assert out[["id", "x"]].equals(df[["id", "x"]])


def test_very_long_text_is_scrubbed():
    text = "Beste, bel 0478 12 34 56 of mail jan@telenet.be. " * 4000
    assert Scrubber().scrub(text).counts == {"telefoon": 4000, "email": 4000}


@pytest.fixture(scope="module")
def corpus_scores():
    return {split: evaluate(generate(600, seed, split), Scrubber().find)
            for split, seed in [("seen", 7), ("heldout", 2024)]}


@pytest.mark.parametrize("split", ["seen", "heldout"])
@pytest.mark.parametrize("kind", list(GOALS))
def test_corpus_recall_and_precision_per_type(corpus_scores, split, kind):
    score = corpus_scores[split]["per_type"][kind]
    assert score["support"] > 50
    assert score["recall"] >= GOALS[kind], score
    assert score["precision"] >= 0.90, score


@pytest.mark.parametrize("split", ["seen", "heldout"])
def test_corpus_ordinary_words_survive(corpus_scores, split):
    assert corpus_scores[split]["word_survival"] >= 0.95


def test_heldout_names_are_unknown_to_the_scrubber():
    from privacy_corpus import _heldout_lists

    from proeftuin.privacy import default_lexicon

    first, last, _ = _heldout_lists()
    lex = default_lexicon()
    assert len(first) >= 10 and len(last) >= 20
    assert not {n.lower() for n in first} & lex.first_names


# ---------------------------------------------------------------- command line

def run(args):
    return CliRunner().invoke(scrub, args)


def test_cli_scrubs_semicolon_file_and_keeps_rows(tmp_path):
    src = tmp_path / "meldingen.csv"
    src.write_text("id;bericht;gemeente\n1;Bel Jan De Smet op 0478 12 34 56;Kortrijk\n2;;Menen\n"
                   '3;"Mijn IBAN: BE71 0961 2345 6769; dank";Waregem\n', encoding="utf-8")
    out = tmp_path / "uit.csv"
    result = run(["--input", str(src), "--output", str(out), "--column", "bericht", "--report"])
    assert result.exit_code == 0, result.output
    df = pd.read_csv(out, sep=";", dtype=str, keep_default_na=False)
    assert df["id"].tolist() == ["1", "2", "3"]
    assert df["gemeente"].tolist() == ["Kortrijk", "Menen", "Waregem"]
    assert df["bericht"].tolist() == ["Bel [NAAM] op [TELEFOON]", "", "Mijn IBAN: [IBAN]; dank"]
    assert "[TELEFOON]" in result.output and "3 rijen" in result.output


def test_cli_json_report_with_comma_and_bom(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes("\ufeffnr,tekst\n1,mail piet@skynet.be\n".encode())
    out = tmp_path / "out.csv"
    result = run(["--input", str(src), "--output", str(out), "--column", "tekst", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["counts"]["email"] == 1
    assert out.read_text(encoding="utf-8") == "nr,tekst\n1,mail [EMAIL]\n"


def test_cli_missing_column_names_the_columns(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("id;omschrijving\n1;tekst\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    result = run(["--input", str(src), "--output", str(out), "--column", "bericht"])
    assert result.exit_code != 0
    assert "niet gevonden" in result.output and "'omschrijving'" in result.output
    assert list(tmp_path.iterdir()) == [src]


def test_cli_non_utf8_file_is_refused_in_dutch(tmp_path):
    src = tmp_path / "in.csv"
    src.write_bytes("id;bericht\n1;Caf\xe9 aan de Markt\n".encode("cp1252"))
    out = tmp_path / "out.csv"
    result = run(["--input", str(src), "--output", str(out), "--column", "bericht"])
    assert result.exit_code != 0
    assert "geen UTF-8" in result.output and "CSV UTF-8" in result.output
    assert list(tmp_path.iterdir()) == [src]


def test_cli_missing_or_empty_input(tmp_path):
    result = run(["--input", str(tmp_path / "nee.csv"), "--output", str(tmp_path / "o.csv"), "--column", "x"])
    assert result.exit_code != 0 and "bestaat niet" in result.output
    empty = tmp_path / "leeg.csv"
    empty.write_text("", encoding="utf-8")
    result = run(["--input", str(empty), "--output", str(tmp_path / "o.csv"), "--column", "x"])
    assert result.exit_code != 0 and "leeg" in result.output
    assert not (tmp_path / "o.csv").exists()


def test_cli_help_is_dutch():
    result = run(["--help"])
    assert result.exit_code == 0 and "persoonsgegevens" in result.output


# ---------------------------------------------------------------- real text (Belgian parliamentary questions)

REAL_CSV = Path(__file__).resolve().parents[2] / "pilots/vragenrouter/data/dekamer_2017_nl.csv"
REVIEW = Path(__file__).resolve().parents[1] / "data/privacy/dekamer_review.csv"


def real_sample() -> pd.DataFrame:
    """The reviewed sample: 150 questions drawn (seed 2017) from rows 300+ (rows 0-299 were used to tune)."""
    return pd.read_csv(REAL_CSV).iloc[300:].sample(n=150, random_state=2017)


def test_real_text_name_precision_against_reviewed_labels():
    """Every current finding is looked up in the hand-reviewed labels; an unreviewed finding counts
    as a false positive, so a change that tags something new must be reviewed (see privacy.md)."""
    labels = pd.read_csv(REVIEW)
    verdict = {(r.doc_id, r.type, r.text): r.verdict for r in labels[labels.version == "after"].itertuples()}
    scrubber = Scrubber()
    tp = fp = 0
    for row in real_sample().itertuples():
        for kind, s, e in scrubber.find(row.question):
            # a name now takes its form of address with it: 'de heer Stoltenberg' is the reviewed 'Stoltenberg'
            found = re.sub(r"^(?:de heer|mevrouw|meneer) ", "", row.question[s:e])
            if verdict.get((row.doc_id, kind, found)) == "TP":
                tp += 1
            else:
                fp += 1
    assert tp + fp > 0 and tp / (tp + fp) >= 0.90, (tp, fp)  # reviewed: 17 TP / 18 = 0.944
    assert tp >= 16  # and the reviewed person names are still found


@pytest.mark.parametrize("text", [
    "Kamer", "Staat", "Europees Hof van Justitie", "Fin Shop", "Franse", "Belgie", "Turkse", "Gewesten",
    "Sociaal Strafwetboek", "Hof", "Ministerraad", "Raad van State", "Europese Unie", "Veiligheid van de Staat",
    "Engeland", "Portugese", "Hof van Cassatie", "Alpha Jet", "Duits", "Inspectie van Financien",
    "Kamercommissie Volksgezondheid", "Regie der Gebouwen", "Spanje", "Hoge Gezondheidsraad", "Europese",
])
def test_institutions_countries_and_nationalities_are_not_names(text):
    for sentence in [f"Zij schreef aan de {text} een brief.", f"{text} antwoordde niet.",
                     f"(Vragen en Antwoorden, {text}, 2016)", f"In {text} kan u dat niet."]:
        assert scrub_text(sentence) == sentence


def test_real_person_names_in_parliamentary_style_are_tagged():
    text = ("Premier Michel en minister van Justitie Geens antwoordden; prinses Astrid, prins Laurent en "
            "koning Albert II. Groen-politicus Luckas Vander Taelen en minister Van Overtveldt reageerden. "
            "Volgens de heer Erdogan niet.")
    out = scrub_text(text)
    for name in ["Michel", "Geens", "Astrid", "Laurent", "Albert II", "Luckas", "Overtveldt", "Erdogan"]:
        assert name not in out, out
    assert "Justitie" in out and "minister van Justitie" in out


def test_a_surname_found_once_is_tagged_at_every_mention():
    text = "Fabrice Leggeri is directeur. Volgens Leggeri niet."
    assert scrub_text(text) == "[NAAM] is directeur. Volgens [NAAM] niet."


@pytest.mark.parametrize("street", ["Kouter 5", "Grote Markt 12", "Doorniksewijk 33", "Meir 23", "Spiegelrei 4"])
def test_streets_without_suffix_in_address_context(street):
    assert scrub_text(f"Ik woon in de {street}.") == "Ik woon in de [ADRES]."
    assert scrub_text(f"Adres: {street}, 9000 Gent") == "Adres: [ADRES]"


def test_numbers_after_ordinary_words_are_not_addresses():
    for text in ["Zie Tabel 3 in de bijlage.", "in de Kempen. 1. Hoeveel?", "in de Richtlijn 2004 staat het."]:
        assert scrub_text(text) == text


# ---------------------------------------------------------------- logging hygiene

def test_scrubbing_leaves_root_logger_and_stdout_alone(capsys):
    """deduce's module calls logging.basicConfig(stream=sys.stdout, level=DEBUG) at import: we must
    not import it (only its data files are read), or `proeftuin run --json` gets debug lines."""
    code = (
        "import logging, sys\n"
        "root = logging.getLogger(); before = (root.level, list(root.handlers))\n"
        "from proeftuin.privacy import scrub_text\n"
        "print(scrub_text('Bel Jan De Smet op 0478 12 34 56'))\n"
        "logging.getLogger('matplotlib').debug('should not appear')\n"
        "assert (root.level, list(root.handlers)) == before, (root.level, root.handlers)\n"
        "assert 'deduce.deduce' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Bel [NAAM] op [TELEFOON]\n"
    # and in this process: a call changes nothing and prints nothing
    root = logging.getLogger()
    before = (root.level, list(root.handlers))
    scrub_text("Mevrouw Peeters woont in de Kerkstraat 5.")
    assert (root.level, list(root.handlers)) == before
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_cli_binary_file_is_refused_and_nothing_is_written(tmp_path):
    src = tmp_path / "meldingen.csv"
    src.write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 4)  # an .xlsx renamed to .csv
    before = src.read_bytes()
    out = tmp_path / "uit.csv"
    result = run(["--input", str(src), "--output", str(out), "--column", "bericht"])
    assert result.exit_code != 0
    assert "geen tekstbestand" in result.output and "CSV UTF-8" in result.output
    assert src.read_bytes() == before and list(tmp_path.iterdir()) == [src]


def test_cli_empty_and_huge_cells(tmp_path):
    """A 100,000-character cell is scrubbed whole (in linear time), empty cells stay empty, and a
    short row (fewer cells than the header) is kept as it was."""
    huge = ("Bel Jan Peeters op 0478 12 34 56 of schrijf naar de Kerkstraat 12, 8500 Kortrijk. " * 1200)[:100_000]
    src = tmp_path / "in.csv"
    src.write_text(f'id;bericht\n1;"{huge}"\n2;\n3\n', encoding="utf-8")
    out = tmp_path / "uit.csv"
    result = run(["--input", str(src), "--output", str(out), "--column", "bericht", "--json"])
    assert result.exit_code == 0, result.output
    rows = out.read_text(encoding="utf-8").splitlines()
    assert rows[0] == "id;bericht" and rows[2:] == ["2;", "3"]
    scrubbed = rows[1].split(";", 1)[1]
    assert "0478" not in scrubbed and "Peeters" not in scrubbed and "Kerkstraat 12" not in scrubbed
    counts = json.loads(result.output)["counts"]
    assert counts["telefoon"] == huge.count("0478 12 34 56") and counts["naam"] >= huge.count("Jan Peeters")


def test_cli_failure_while_writing_leaves_no_partial_output(tmp_path, monkeypatch):
    src = tmp_path / "in.csv"
    src.write_text("id;bericht\n1;Bel 0478 12 34 56\n", encoding="utf-8")
    out = tmp_path / "uit.csv"
    out.write_text("vorige uitvoer\n", encoding="utf-8")

    def broken_replace(*_args):
        raise OSError("schijf vol")

    monkeypatch.setattr("proeftuin.files.os.replace", broken_replace)  # the one atomic writer
    result = run(["--input", str(src), "--output", str(out), "--column", "bericht"])
    assert result.exit_code != 0 and "niet schrijven" in result.output and "schijf vol" in result.output
    assert out.read_text(encoding="utf-8") == "vorige uitvoer\n"  # the earlier output is not lost
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "uit.csv"]  # no temp file left


# ---------------------------------------------------------------- hand-annotated sets (issue 13)

def _annotated(name):
    from privacy_annotated import DATA, load

    return load(DATA / f"{name}.jsonl")


def test_annotated_sets_are_in_step_with_their_marked_sources_and_apart():
    import importlib.util

    from privacy_annotated import DATA, KINDS

    spec = importlib.util.spec_from_file_location("privacy_build", DATA / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    sets = {name: _annotated(name) for name in ("dev", "test")}
    for name, records in sets.items():
        assert records == build.build(DATA / f"{name}.marked.txt"), f"run bench/data/privacy/build.py ({name})"
        assert {a["tag"] for r in records for a in r["annotations"]} <= set(KINDS)
    assert sum(len(r["annotations"]) for records in sets.values() for r in records) >= 1000
    assert not {r["text"] for r in sets["dev"]} & {r["text"] for r in sets["test"]}


@pytest.fixture(scope="module")
def annotated_scores():
    from privacy_annotated import score

    return {name: score(_annotated(name), Scrubber().find) for name in ("dev", "test")}


# Fully covered (one placeholder over the whole mention). Dev was tuned on; the test set, written by
# another author, never: its floors are the goals where they are reached, and just under
# the measured figure where they are not (adres 0.936, nummerplaat 0.938): see docs/developer/privacy.md.
ANNOTATED_FLOORS = {
    "dev": {"naam": 0.95, "adres": 0.95, "telefoon": 0.97, "email": 0.99, "rijksregisternummer": 0.97,
            "iban": 0.99, "nummerplaat": 0.99},
    "test": {"naam": 0.90, "adres": 0.92, "telefoon": 0.97, "email": 0.99, "rijksregisternummer": 0.99,
             "iban": 0.99, "nummerplaat": 0.90},
}


@pytest.mark.parametrize("split", ["dev", "test"])
def test_annotated_recall_per_type_and_words_kept(annotated_scores, split):
    result = annotated_scores[split]
    low = {kind: round(result["per_type"][kind]["fully_covered"], 3) for kind, floor in ANNOTATED_FLOORS[split].items()
           if result["per_type"][kind]["fully_covered"] < floor}
    assert not low, low
    assert result["words_kept"] >= 0.95 and result["precision"] >= 0.95, (result["words_kept"], result["precision"])


@pytest.mark.parametrize(("text", "expected"), [
    ("Gisteren belde Jan van den Broeck over zijn container.", "Gisteren belde [NAAM] over zijn container."),
    ("Het dossier van mevrouw van der Sluis is klaar.", "Het dossier van [NAAM] is klaar."),
    ("Contact: v/d Sluis, tel. onbekend.", "Contact: [NAAM], tel. onbekend."),
    ("Ik heb d'Hondt gisteren gesproken.", "Ik heb [NAAM] gisteren gesproken."),
    ("Een brief van A. de Jong kwam binnen.", "Een brief van [NAAM] kwam binnen."),
    ("Mevrouw Visser-de Jong vraagt een afspraak.", "[NAAM] vraagt een afspraak."),
    ("Jan-Willem belde terug over de vergunning.", "[NAAM] belde terug over de vergunning."),
    ("Meneer Oude Nijhuis en mevrouw Bruins Slot waren er.", "[NAAM] en [NAAM] waren er."),
    ("Mw. Prof. Dr. A.B. de Vries heeft geantwoord.", "[NAAM] heeft geantwoord."),
    ("Peter de Vries woont hier al lang.", "[NAAM] woont hier al lang."),
    ("Dhr. ir. P. Decroix komt.", "[NAAM] komt."),
    ("Naam: jan peeters", "Naam: [NAAM]"),
    ("Met vriendelijke groeten,\nAnnelies Decock", "Met vriendelijke groeten,\n[NAAM]"),
    ("klant belde, mevrouw claeys wil terugbellen", "klant belde, [NAAM] wil terugbellen"),
    ("IK BEN ROGER VANDENBERGHE EN IK HEB GEEN COMPUTER", "IK BEN [NAAM] EN IK HEB GEEN COMPUTER"),
])
def test_whole_name_mentions_in_one_placeholder(text, expected):
    assert scrub_text(text) == expected


@pytest.mark.parametrize("phone", [
    "(02) 555 12 12", "06 55 55 55 55", "+31 88 755 5555", "(030) 555 5555", "+33 3 20 12 34 56",
    "03 20 12 34 56", "06-12345678", "+31 6 12 34 56 78", "+33 (0)6 12 34 56 78", "010-123 45 67",
])
def test_dutch_and_french_phone_numbers_are_tagged(phone):
    assert scrub_text(f"Bel mij op {phone} na 17 uur.") == "Bel mij op [TELEFOON] na 17 uur."


@pytest.mark.parametrize("text", [
    "Klantnummer 0123456789 en factuur 0240315070.", "BTW BE 0412.345.678", "KBO 0412.345.678",
])
def test_ten_digit_references_are_no_phone_numbers(text):
    assert scrub_text(text) == text


@pytest.mark.parametrize("address", [
    "Oude Vestingkade 1", "Rozenplantsoen 1, 8500 Kortrijk", "Westerbolwerk 1", "Kerkstr. 1, 8930 Menen",
    "Beukenln 4 bus 0101", "Postbus 123, 8500 Kortrijk", "rue de la Gare 14, 7700 Mouscron",
    "Laan van Meerdervoort 12, 2517 AB Den Haag", "Stationsstraat nr. 14, 8790 Waregem", "Ter Bede 25, 8501 Bissegem",
    "Stationsplein 3/B, 8900 Ieper", "HOOGSTRAAT 201 8970 POPERINGE", "Kerkstraat, 8500 Kortrijk",
    "Kerkstraat 12 te Kortrijk", "Meersbaan 3 Zwevegem", "Kerkstraat 5, kamer 14, 8500 Kortrijk",
])
def test_more_street_forms_make_one_address(address):
    assert scrub_text(f"Mijn adres: {address}.") == "Mijn adres: [ADRES]."


@pytest.mark.parametrize("plate", ["GV-482-K", "83-KNB-7", "FG-418-KL", "1-ABC-234"])
def test_dutch_and_french_plates(plate):
    assert scrub_text(f"De auto {plate} stond fout.") == "De auto [NUMMERPLAAT] stond fout."


def test_places_and_bodies_stay():
    text = ("De werken in de Kerkstraat duren tot mei. Op de Grote Markt van Menen is er feest in zaal "
            "De Schakel; het OCMW Kortrijk en de Vlaamse Belastingdienst zijn dicht. Wet van 8 december 1992.")
    assert scrub_text(text) == text


def test_own_register_and_iban_checks_agree_with_stdnum():
    """The scrubber checks national numbers and IBANs itself (fast); python-stdnum is the reference."""
    import random

    from stdnum import iban as stdnum_iban
    from stdnum.be import bis, nn

    from proeftuin.privacy import _iban_valid, _national_number_valid

    rng = random.Random(13)
    numbers = ["85073003328", "02031512304", "85073003329", "00000000097", "17073003392"]
    numbers += [f"{rng.randint(0, 99):02d}{rng.randint(0, 52):02d}{rng.randint(0, 31):02d}{rng.randint(0, 99999):05d}"
                for _ in range(20000)]
    disagree = [n for n in numbers if _national_number_valid(n) != (nn.is_valid(n) or bis.is_valid(n))]
    assert sum(map(_national_number_valid, numbers)) > 50 and len(disagree) <= len(numbers) // 1000, disagree[:5]
    ibans = ["BE71096123456769", "NL91ABNA0417164300", "FR1420041010050500013M02606", "LU280019400644750000",
             "DE89370400440532013000", "BE72096123456769", "BE71096123456768", "NL92ABNA0417164300"]
    for country in ("BE", "NL"):
        for _ in range(3000):
            digits = rng.randint(0, 10**12 - 1)
            bban = f"{digits:012d}" if country == "BE" else f"ABNA{digits % 10**10:010d}"
            ibans += [stdnum_iban.calc_check_digits(country + "00" + bban).join([country, bban])]

    def reference(number):  # stdnum without its bank-code registry: an unlisted (new) bank still counts
        be_check = number[:2] != "BE" or (int(number[4:14]) % 97 or 97) == int(number[14:])
        return stdnum_iban.is_valid(number, check_country=False) and be_check

    assert [n for n in ibans if _iban_valid(n) != reference(n)] == []
    assert sum(map(_iban_valid, ibans)) > 1000  # and the sample holds valid ones of both countries


def test_own_word_frequency_and_phone_length_checks_agree_with_their_libraries():
    """Two shortcuts for speed: plain words are read from wordfreq's table without its tokenizer, and
    international BE/NL/FR numbers are checked on length without phonenumbers' parser. The libraries
    themselves are the reference, on the whole lexicon and on random numbers."""
    import random

    import phonenumbers
    from wordfreq import zipf_frequency

    from proeftuin.privacy import _PLAIN_WORD_RE, _possible, _zipf, default_lexicon

    lexicon = default_lexicon()
    words = sorted(w for w in {*lexicon.first_names, *lexicon.surnames, *lexicon.common_words, *lexicon.places,
                               "straat", "het", "één", "œuvre", "café", "naïef"} if _PLAIN_WORD_RE.fullmatch(w))
    rng = random.Random(7)
    sample = rng.sample(words, 4000) + ["straat", "één", "œuvre", "café", "naïef", "qqqzzzx"]
    for lang in ("nl", "en", "fr"):
        assert [w for w in sample if _zipf.__wrapped__(w, lang) != zipf_frequency(w, lang)] == [], lang
    assert _zipf("straat") > 4 and _zipf("qqqzzzx") == 0.0

    def reference(number):
        try:
            return phonenumbers.is_possible_number(phonenumbers.parse(number, None))
        except phonenumbers.NumberParseException:
            return False

    numbers = ["+" + cc + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 13)))
               for cc in ("32", "31", "33", "352") for _ in range(2500)]
    assert [n for n in numbers if _possible.__wrapped__(n) != reference(n)] == []
    assert 500 < sum(map(reference, numbers)) < len(numbers) - 500  # both answers occur


@pytest.mark.parametrize("text", [
    "MEVROUW PEETERS " * 6000, "JAN PEETERS EN MARC JANSSENS " * 3400, "Naam: Jan Peeters\n" * 5000,
    "Groeten,\nJan Peeters\n" * 4000, "Mw. Dr. " * 12000 + "Peeters",
])
def test_dense_100k_texts_are_scrubbed_whole(text):
    """A hostile cell full of names: every mention goes (names grow over a few words, never back through the text)."""
    out = scrub_text(text)
    assert "PEETERS" not in out and "Peeters" not in out and out.count("[NAAM]") >= min(text.count("EETERS"), 3000)


# ---------------------------------------------------------------- the compiled scrubber (native.py)


def test_the_compiled_scrubber_runs_and_finds_exactly_what_the_source_finds():
    """`make install` compiles privacy.py with mypyc; the compiled classes must be the ones in use and
    must find, on every annotated and generated text, exactly what the pure-Python source finds."""
    from privacy_annotated import DATA, load

    from proeftuin import privacy
    assert privacy.COMPILED, "de gecompileerde scrubber ontbreekt: 'make install' bouwt hem (gcc nodig)"
    assert privacy.Scrubber.__module__ == "proeftuin._privacy_native"
    assert privacy.default_scrubber().__class__ is privacy.Scrubber
    texts = [r["text"] for name in ("dev", "test") for r in load(DATA / f"{name}.jsonl")]
    texts += [m.text for m in generate(400, 11, "heldout")]
    texts += [t.upper() for t in texts[:100]] + ["", "x" * 5000, "Naam: jan peeters\nTel 0475 12 34 56"]
    pure, compiled = privacy.PurePythonScrubber(), privacy.Scrubber()
    different = [t for t in texts if pure.find(t) != compiled.find(t)]
    assert not different, different[:3]
    assert scrub_text(texts[0]) == pure.scrub(texts[0]).text


def test_a_build_from_another_version_of_the_source_is_never_used(tmp_path, monkeypatch):
    from proeftuin import native
    assert native.compiled_scrubber() is not None
    edited = tmp_path / "privacy.py"
    edited.write_bytes(native.SOURCE.read_bytes() + b"\n# een regel erbij\n")
    assert native.compiled_scrubber(source=edited) is None  # stale: the edited source runs as Python
    assert native.compiled_scrubber(stamp=tmp_path / "missing.sha256") is None
    monkeypatch.setenv("PROEFTUIN_PRIVACY_PURE", "1")
    assert native.compiled_scrubber() is None
    probe = "import proeftuin.privacy as p; print(p.COMPILED, p.Scrubber.__module__)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "proeftuin.privacy"]


def test_native_command_has_help_and_status():
    from proeftuin import native
    assert native.main(["--help"]) == 0
    assert native.main(["status"]) == 0
    assert native.main(["bouw"]) == 2
