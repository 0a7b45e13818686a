"""LESSONS.md has one parser (proeftuin.pilot.lessons): the validation, the site and the kennisbank agree.

The three readers it replaced are kept below, frozen, so that the equivalence with what each caller saw
before stays checked on every real LESSONS.md (the pilots and the templates' rendered LESSONS.md.jinja).
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest
from conftest import PILOTS, ROOT

from proeftuin.engines.retrieval import lessons_documents
from proeftuin.errors import DataError, ManifestError
from proeftuin.pilot import LESSONS_HEADINGS, load_pilot
from proeftuin.pilot import lessons as lessons_md
from proeftuin.site import _lesson_sections
from proeftuin.text import anchor

# -- the three readers before the parser (verbatim, but for their names) ----------------------------------


def old_validation_missing(lessons: str) -> list[str]:  # proeftuin.pilot.load_pilot
    return [h for h in LESSONS_HEADINGS if h not in lessons]


def old_site_sections(markdown: str) -> dict[str, str]:  # proeftuin.site._lesson_sections
    sections: dict[str, str] = {}
    current = None
    for line in markdown.splitlines():
        if line.startswith("## "):
            current = line.strip()
            sections[current] = ""
        elif current is not None:
            sections[current] += line + "\n"
    return {k: v.strip() for k, v in sections.items()}


def old_retrieval_rows(slug: str, content: str) -> list[dict[str, str]]:  # proeftuin.retrieval.lessons_documents
    rows = []
    parts = re.split(r"^## ", content, flags=re.MULTILINE)
    title = parts[0].strip().lstrip("# ").strip()
    for part in parts[1:]:
        heading, _, body = part.partition("\n")
        if body.strip():
            rows.append({"id": f"lessen:{slug}:{anchor(heading)}", "text": f"{title}. {heading}. {body.strip()}",
                         "source": f"Lessen van pilot {slug} ({heading.strip()})"})
    return rows


def _rendered_templates() -> list[tuple[str, str]]:
    env = jinja2.Environment(undefined=jinja2.ChainableUndefined, keep_trailing_newline=True)  # noqa: S701
    answers = {"slug": "mijn-pilot", "title": "Mijn pilot", "owner": "kortrijk", "question": "Wat leren we hiervan?"}
    return [(path.parts[-3], env.from_string(path.read_text(encoding="utf-8")).render(**answers))
            for path in sorted((ROOT / "templates").glob("*/template/LESSONS.md.jinja"))]


REAL = [(p.parent.name, p.read_text(encoding="utf-8")) for p in sorted(PILOTS.glob("*/LESSONS.md"))] + \
    _rendered_templates()


def test_the_real_files_are_all_here():
    names = [name for name, _ in REAL]
    assert {"vragenrouter", "kennisbank", "text-classification", "retrieval-qa"} <= set(names)
    assert all(len(lessons_md.parse(text).sections) == 4 for _, text in REAL)


@pytest.mark.parametrize(("name", "text"), REAL, ids=[name for name, _ in REAL])
def test_every_caller_sees_what_it_saw_before(name: str, text: str):
    assert lessons_md.missing_headings(text) == old_validation_missing(text) == []
    assert _lesson_sections(text) == lessons_md.parse(text).by_heading() == old_site_sections(text)
    assert list(_lesson_sections(text)) == list(old_site_sections(text))  # the same order too
    for variant in (text, text.replace("\n", "\r\n")):
        assert _lesson_sections(variant) == old_site_sections(text)
    assert _rows(name, text) == _rows(name, text.replace("\n", "\r\n")) == old_retrieval_rows(name, text)


def _rows(slug: str, content: str) -> list[dict[str, str]]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / slug).mkdir()
        (Path(folder) / slug / "LESSONS.md").write_bytes(content.encode("utf-8"))
        return lessons_documents(Path(folder)).to_dict("records")


def test_the_kennisbank_collection_is_unchanged():
    old = [row for path in sorted(PILOTS.glob("*/LESSONS.md"))
           for row in old_retrieval_rows(path.parent.name, path.read_text(encoding="utf-8"))]
    assert lessons_documents(PILOTS).to_dict("records") == old


# -- the parser's rules ----------------------------------------------------------------------------------


def test_no_headings_is_all_preamble():
    parsed = lessons_md.parse("# Lessen: x\n\nNog niets.\n")
    assert parsed.sections == () and parsed.preamble == "# Lessen: x\n\nNog niets.\n"
    assert parsed.by_heading() == {} and parsed.title == "Lessen: x\n\nNog niets."
    assert lessons_md.parse("").sections == ()


def test_text_before_the_first_heading_is_the_preamble():
    parsed = lessons_md.parse("# Lessen: x\nInleiding.\n\n## Wat werkte\nveel\n")
    assert parsed.preamble == "# Lessen: x\nInleiding.\n"
    assert [(s.heading, s.body, s.line) for s in parsed.sections] == [("Wat werkte", "veel", 4)]
    assert old_site_sections("# Lessen: x\nInleiding.\n\n## Wat werkte\nveel\n") == parsed.by_heading()


def test_subheadings_stay_inside_their_section():
    text = "## Wat werkte\nA\n### Detail\nB\n#### Dieper\nC\n## Volgende stap\nD"
    parsed = lessons_md.parse(text)
    assert parsed.by_heading() == {"## Wat werkte": "A\n### Detail\nB\n#### Dieper\nC", "## Volgende stap": "D"}
    assert parsed.by_heading() == old_site_sections(text)


def test_a_heading_in_a_fenced_code_block_is_code():
    text = ("## Wat werkte\nZo draai je het:\n```bash\n## geen kop, een commentaar\nproeftuin run x\n```\n"
            "~~~\n## ook niet\n~~~\n## Volgende stap\nD\n")
    parsed = lessons_md.parse(text)
    assert [s.heading for s in parsed.sections] == ["Wat werkte", "Volgende stap"]
    assert "## geen kop, een commentaar" in parsed.by_heading()["## Wat werkte"]
    # before the parser, the comment split the section: the site showed half of it
    assert "## geen kop, een commentaar" in old_site_sections(text)


def test_a_fence_that_is_never_closed_fences_nothing():
    text = "## Wat werkte\n```\nA\n## Volgende stap\nD\n"
    assert list(lessons_md.parse(text).by_heading()) == ["## Wat werkte", "## Volgende stap"]
    # a closing fence needs the same character, at least as long; an opening ``` with a ` after it is none
    assert len(lessons_md.parse("````\n```\n## x\n````\n## y\n").sections) == 1
    assert len(lessons_md.parse("```a`b\n## x\n```\n").sections) == 1


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_cr_line_endings(newline: str):
    text = "# Lessen: x\n\n## Wat werkte\nA\nB\n\n## Volgende stap\nD\n"
    assert lessons_md.parse(text.replace("\n", newline)) == lessons_md.parse(text)
    assert lessons_md.parse(text).by_heading() == {"## Wat werkte": "A\nB", "## Volgende stap": "D"}
    assert old_site_sections(text.replace("\n", "\r\n")) == lessons_md.parse(text).by_heading()


def test_reading_a_file_gives_the_line_endings_path_read_text_gave(tmp_path: Path):
    path = tmp_path / "LESSONS.md"
    path.write_bytes(b"# Lessen\r\n\r\n## Wat werkte\rA\r\n")
    assert lessons_md.read_text(path) == lessons_md.read_text(path, strict=True) == path.read_text(encoding="utf-8")


def test_a_byte_order_mark_and_spaces_around_a_heading_are_ignored():
    parsed = lessons_md.parse("\ufeff## Wat werkte  \nA\n##   Volgende stap\nD")
    assert [s.heading for s in parsed.sections] == ["Wat werkte", "Volgende stap"]
    assert not lessons_md.parse("##Wat werkte\n ## Volgende stap\n").sections  # not level-2 headings


def test_a_repeated_heading_keeps_both_sections_and_the_site_shows_the_last():
    text = "## Wat werkte\nA\n## Wat werkte\nB\n"
    assert [s.body for s in lessons_md.parse(text).sections] == ["A", "B"]
    assert lessons_md.parse(text).by_heading() == old_site_sections(text) == {"## Wat werkte": "B"}


INVALID = b"# Lessen: x\n\n## Wat we probeerden\nCaf\xe9 (latin-1)\n\n## Wat werkte\nA\n\n## Wat niet werkte\nB\n\n" \
    b"## Volgende stap\nC\n"


def test_invalid_utf8_is_tolerated_where_it_was(tmp_path: Path):
    path = tmp_path / "LESSONS.md"
    path.write_bytes(INVALID)
    assert lessons_md.read_text(path) == INVALID.decode("utf-8", errors="replace")
    assert lessons_md.read(path).by_heading()["## Wat we probeerden"] == "Caf\ufffd (latin-1)"
    assert lessons_md.missing_headings(lessons_md.read_text(path)) == []


def test_invalid_utf8_is_a_dutch_error_for_the_kennisbank(tmp_path: Path):
    (tmp_path / "oud").mkdir()
    (tmp_path / "oud" / "LESSONS.md").write_bytes(INVALID)
    with pytest.raises(DataError) as err:
        lessons_documents(tmp_path)
    assert "geen geldige UTF-8" in err.value.message and "regel 4" in err.value.message
    assert "oud/LESSONS.md" in err.value.message and "UTF-8" in err.value.hint


def test_validation_still_names_a_missing_heading(pilots_copy: Path):
    lessons = pilots_copy / "vragenrouter" / "LESSONS.md"
    lessons.write_bytes(INVALID.replace(b"## Volgende stap", b"## Verder"))
    with pytest.raises(ManifestError) as err:
        load_pilot(pilots_copy / "vragenrouter")
    assert err.value.problems == ["kop ontbreekt: '## Volgende stap'"]
