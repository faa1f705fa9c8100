"""The Russian catalog is complete, reviewed and compiled: no empty or fuzzy entry, and the
committed `.mo` is exactly what `msgfmt` makes of the committed `.po` (no database needed)."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PO_PATH = ROOT / "locale" / "ru" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")

_KEYWORD = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"line {self.line}: msgid {self.msgid!r}"


def _unquote(literal: str) -> str:
    # A PO string is a C-style double-quoted literal; Python's reading of the escapes used
    # by gettext (\\, \", \n, \t) is the same.
    value = ast.literal_eval(literal)
    assert isinstance(value, str)
    return value


def parse_po(text: str) -> list[Entry]:
    """Entries of a PO file, the header included; obsolete (`#~`) entries are left out."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int] | None = None  # which field a continuation line extends

    def finish() -> None:
        nonlocal current, target
        if current is not None:
            entries.append(current)
        current, target = None, None

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):
            continue
        if line.startswith("#"):
            if current is not None and target is not None:
                finish()  # a comment after a msgstr starts the next entry
            if current is None:
                current = Entry(line=number)
            if line.startswith("#,"):
                current.flags.update(f.strip() for f in line[2:].split(",") if f.strip())
            continue
        if current is None:
            current = Entry(line=number)
        match = _KEYWORD.match(line)
        if match:
            keyword, index, literal = match.groups()
            if keyword in ("msgctxt", "msgid") and target is not None and target[0] != "msgctxt":
                finish()  # an entry not separated by a blank line
                current = Entry(line=number)
            value = _unquote(literal)
            if keyword == "msgctxt":
                current.msgctxt, target = value, ("msgctxt", 0)
            elif keyword == "msgid":
                current.msgid, target = value, ("msgid", 0)
            elif keyword == "msgid_plural":
                current.msgid_plural, target = value, ("msgid_plural", 0)
            else:
                n = int(index) if index is not None else 0
                current.msgstr[n], target = value, ("msgstr", n)
            continue
        if line.startswith('"') and current is not None and target is not None:
            value = _unquote(line)
            kind, n = target
            if kind == "msgctxt":
                current.msgctxt = (current.msgctxt or "") + value
            elif kind == "msgid":
                current.msgid += value
            elif kind == "msgid_plural":
                current.msgid_plural = (current.msgid_plural or "") + value
            else:
                current.msgstr[n] += value
            continue
        raise AssertionError(f"{PO_PATH.name}, line {number}: cannot parse {raw!r}")
    finish()
    return entries


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return parse_po(PO_PATH.read_text(encoding="utf-8"))


def _header(entries: list[Entry]) -> dict[str, str]:
    header = next(e for e in entries if e.msgid == "" and e.msgctxt is None)
    fields = {}
    for line in header.msgstr[0].splitlines():
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    return fields


def test_parser_reads_multiline_plural_and_flags() -> None:
    sample = (
        'msgid ""\nmsgstr ""\n"Language: ru\\n"\n\n'
        '#: a.py:1\n#, fuzzy, python-format\n#| msgid "old"\n'
        'msgid ""\n"long %(n)d "\n"text"\nmsgid_plural "many"\n'
        'msgstr[0] "один"\nmsgstr[1] ""\n\n'
        '#~ msgid "gone"\n#~ msgstr "нет"\n'
    )
    header, entry = parse_po(sample)
    assert header.msgstr == {0: "Language: ru\n"}
    assert entry.msgid == "long %(n)d text"
    assert entry.msgid_plural == "many"
    assert entry.flags == {"fuzzy", "python-format"}
    assert entry.msgstr == {0: "один", 1: ""}


def test_catalog_has_entries(entries: list[Entry]) -> None:
    assert _header(entries).get("Language") == "ru"
    assert len(entries) > 100, "the Russian catalog looks truncated"


def test_no_untranslated_entries(entries: list[Entry]) -> None:
    plural_forms = re.search(r"nplurals\s*=\s*(\d+)", _header(entries)["Plural-Forms"])
    assert plural_forms, "the header has no usable Plural-Forms"
    nplurals = int(plural_forms[1])
    problems = []
    for entry in entries:
        if entry.msgid == "":
            continue
        if entry.msgid_plural is None:
            if not entry.msgstr.get(0):
                problems.append(f"{entry.label}: empty msgstr")
            continue
        forms = [entry.msgstr.get(n, "") for n in range(nplurals)]
        if sorted(entry.msgstr) != list(range(nplurals)) or not all(forms):
            problems.append(f"{entry.label}: needs {nplurals} non-empty msgstr[n]")
    assert not problems, "untranslated entries:\n" + "\n".join(problems)


def test_no_fuzzy_entries(entries: list[Entry]) -> None:
    fuzzy = [entry.label for entry in entries if "fuzzy" in entry.flags]
    assert not fuzzy, "fuzzy entries must be reviewed:\n" + "\n".join(fuzzy)


def test_committed_mo_is_compiled_from_the_po(tmp_path: Path) -> None:
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "msgfmt (GNU gettext) is required: install the `gettext` package"
    compiled = tmp_path / "django.mo"
    result = subprocess.run(
        [msgfmt, "--check", "-o", str(compiled), str(PO_PATH)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"msgfmt --check failed:\n{result.stderr}"
    assert not result.stderr.strip(), f"msgfmt --check warned:\n{result.stderr}"
    assert MO_PATH.is_file(), f"{MO_PATH.relative_to(ROOT)} is missing"
    assert compiled.read_bytes() == MO_PATH.read_bytes(), (
        f"{MO_PATH.relative_to(ROOT)} is stale: run "
        f"`msgfmt --check -o {MO_PATH.relative_to(ROOT)} {PO_PATH.relative_to(ROOT)}`"
    )
