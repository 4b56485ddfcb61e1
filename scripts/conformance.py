"""Generate docs/conformance.md: each OCTT Charging Station test case (OCPP 2.0.1) of the blocks this
station claims, then each OCPP 1.6 OCTT Charge Point test case of its feature profiles, with the wire test
that covers it, the reason it does not apply, or "not yet".

- Ids and titles come from shared/octt-cs-testcases.tsv (a copy is kept in docs/); the 1.6 ones
  (TC_001_CS, TC_004_1_CS ...) from docs/octt16-cp-testcases.tsv.
- A test covers every OCTT id in its name (test_TC_E_01_CS_TC_E_02_CS_... covers both).
- Only tests outside tests/unit count as covering a case: an OCTT case is judged on the wire. Unit tests
  named after a case, and tests marked xfail, are listed beside it for the reader but do not make it covered.
- docs/conformance-notes.tsv (id, status, why) marks a case "n/a" with the reason, or explains a "not yet".

    python scripts/conformance.py           # rewrite docs/conformance.md
    python scripts/conformance.py --check   # exit 1 if it is stale (a test runs this)
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "conformance.md"
NOTES = ROOT / "docs" / "conformance-notes.tsv"
TSV_CANDIDATES = [ROOT / "docs" / "octt-cs-testcases.tsv", ROOT.parent / "shared" / "octt-cs-testcases.tsv"]
# The blocks this station claims; others are listed once they have a wire test.
CLAIMED_BLOCKS = ("A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "L", "M", "N", "O", "P")
CASE_ID = re.compile(r"TC_[A-P]_\d+_CS")
TSV_16 = ROOT / "docs" / "octt16-cp-testcases.tsv"
# OCPP 1.6 OCTT ids: a number, sometimes a variant (TC_004_1_CS); the group is non-capturing for findall.
CASE_ID_16 = re.compile(r"TC_\d{3}(?:_\d+)?_CS")
# The 1.6 feature profiles in the order the OCA test case document takes them.
PROFILES_16 = (
    "Core",
    "LocalAuthListManagement",
    "FirmwareManagement",
    "Reservation",
    "SmartCharging",
    "RemoteTrigger",
    "Security",
)


def load_cases() -> list[tuple[str, str, str, str]]:
    path = next(p for p in TSV_CANDIDATES if p.exists())
    rows = []
    for line in path.read_text().splitlines():
        if line.startswith("#") or line.startswith("id\t") or not line.strip():
            continue
        case_id, block, edition, title = line.split("\t")[:4]
        rows.append((case_id, block, edition, title))
    return rows


def load_notes() -> dict[str, tuple[str, str]]:
    """id -> (status, why); status is "n/a" or "not yet"."""
    notes: dict[str, tuple[str, str]] = {}
    if not NOTES.exists():
        return notes
    for number, line in enumerate(NOTES.read_text().splitlines(), start=1):
        if line.startswith("#") or line.startswith("id\t") or not line.strip():
            continue
        case_id, status, why = line.split("\t", 2)
        known_id = CASE_ID.fullmatch(case_id) or CASE_ID_16.fullmatch(case_id)
        if status not in ("n/a", "not yet") or not known_id:
            raise SystemExit(f"{NOTES}:{number}: expected 'TC_X_NN_CS|TC_NNN_CS<TAB>n/a|not yet<TAB>why'")
        notes[case_id] = (status, why.strip())
    return notes


def load_cases_16() -> list[tuple[str, str, str]]:
    """(id, feature profile, title) of the OCPP 1.6 Charge Point cases."""
    rows = []
    for line in TSV_16.read_text().splitlines():
        if line.startswith("#") or line.startswith("id\t") or not line.strip():
            continue
        case_id, profile, title = line.split("\t")[:3]
        rows.append((case_id, profile, title))
    return rows


def covering_tests(
    case_id_pattern: re.Pattern[str] = CASE_ID,
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(wire tests, unit tests) per case id, from test function names."""
    wire: dict[str, list[str]] = defaultdict(list)
    unit: dict[str, list[str]] = defaultdict(list)
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        rel = path.relative_to(ROOT)
        target = unit if rel.parts[:2] == ("tests", "unit") else wire
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
                # An expected failure shows the station does not do it yet: it covers nothing.
                expected_to_fail = any("xfail" in ast.unparse(d) for d in node.decorator_list)
                for case_id in dict.fromkeys(case_id_pattern.findall(node.name)):
                    (unit if expected_to_fail else target)[case_id].append(f"{rel}::{node.name}")
    return wire, unit


def case_row(
    case_id: str, title: str, notes: dict[str, tuple[str, str]], wire: dict[str, list[str]], unit: dict[str, list[str]]
) -> tuple[str, str]:
    """(status, table row) of one case, by the rules in the module docstring."""
    note_status, why = notes.get(case_id, ("", ""))
    if case_id in wire:
        status, where = "covered", "<br>".join(f"`{t}`" for t in wire[case_id])
    elif note_status == "n/a":
        status, where = "n/a", why
    else:
        status, where = "not yet", why
    if case_id in unit and status != "covered":
        where = "<br>".join([where] * bool(where) + [f"not counted: `{t}`" for t in unit[case_id]])
    return status, f"| {case_id} | {title} | {status} | {where} |"


def render() -> str:
    return render_201() + render_16()


def render_201() -> str:
    cases = load_cases()
    notes = load_notes()
    wire, unit = covering_tests()
    blocks = sorted(set(CLAIMED_BLOCKS) | {case_id.split("_")[1] for case_id in wire})
    lines = [
        "# OCTT conformance (Charging Station role)",
        "",
        "Generated by `python scripts/conformance.py` from the test names and `docs/conformance-notes.tsv`;",
        "do not edit by hand. Only OCPP 2.0.1 cases (edition `2.0.1+2.1`) are listed. A case is *covered* by a",
        "test that drives the station over the websocket against the test CSMS (anything outside `tests/unit`);",
        "unit tests of the pure core and tests marked xfail named after a case are shown but do not count.",
        "",
        "| block | covered over the wire | not applicable | not yet |",
        "|---|---|---|---|",
    ]
    sections: list[str] = []
    for block in blocks:
        block_cases = [c for c in cases if c[0].split("_")[1] == block and c[2].startswith("2.0.1")]
        if not block_cases:
            continue
        counts = {"covered": 0, "n/a": 0, "not yet": 0}
        rows = []
        for case_id, _, _, title in block_cases:
            status, row = case_row(case_id, title, notes, wire, unit)
            counts[status] += 1
            rows.append(row)
        name = block_cases[0][1]
        lines.append(f"| {name} | {counts['covered']} | {counts['n/a']} | {counts['not yet']} |")
        sections += [
            f"## {name}: {counts['covered']} covered, {counts['n/a']} not applicable, "
            f"{counts['not yet']} not yet (of {len(block_cases)})",
            "",
            "| id | title | status | test or reason |",
            "|---|---|---|---|",
            *rows,
            "",
        ]
    return "\n".join([*lines, "", *sections])


def render_16() -> str:
    """The OCPP 1.6 section, appended after the 2.0.1 text (which stays as it was)."""
    cases = load_cases_16()
    notes = load_notes()
    wire, unit = covering_tests(CASE_ID_16)
    lines = [
        "# OCPP 1.6 OCTT conformance (Charge Point role)",
        "",
        "The OCPP 1.6 OCTT Charge Point cases listed in `docs/octt16-cp-testcases.tsv` (its header names the",
        "sources), by feature profile, under the same rules: a wire test named after the case covers it.",
        "The Plug & Charge whitepaper for 1.6 has no OCTT cases; its wire tests, named after the 2.0.1 use",
        "cases they carry (C07, M01, M04-M06, A02), are `tests/integration/test_v16_plug_and_charge.py`.",
        "",
        "| feature profile | covered over the wire | not applicable | not yet |",
        "|---|---|---|---|",
    ]
    sections: list[str] = []
    for profile in PROFILES_16:
        profile_cases = [c for c in cases if c[1] == profile]
        if not profile_cases:
            continue
        counts = {"covered": 0, "n/a": 0, "not yet": 0}
        rows = []
        for case_id, _, title in profile_cases:
            status, row = case_row(case_id, title, notes, wire, unit)
            counts[status] += 1
            rows.append(row)
        lines.append(f"| {profile} | {counts['covered']} | {counts['n/a']} | {counts['not yet']} |")
        sections += [
            f"## 1.6 {profile}: {counts['covered']} covered, {counts['n/a']} not applicable, "
            f"{counts['not yet']} not yet (of {len(profile_cases)})",
            "",
            "| id | title | status | test or reason |",
            "|---|---|---|---|",
            *rows,
            "",
        ]
    return "\n".join(["", *lines, "", *sections])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is stale: run python scripts/conformance.py", file=sys.stderr)
            return 1
        return 0
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
