#!/usr/bin/env python3
"""The library's public surface (issue 12 §7): lists every `pub` item of src/ (the library;
src/main.rs is a user of it) and, with --apply, turns each one whose name is not used outside
the library (tests/, benches/, examples/, fuzz/, src/main.rs) into `pub(crate)`.

The test is by name, so it keeps too much rather than too little: an item stays `pub` when
any word outside the library spells its name. Kept as well: the facade documented in
src/lib.rs, and what the exported print macros reach (`$crate::output::…`). After --apply,
the compiler and clippy say what else must change (a `pub use` of a now private item, a
private type in a public signature) and which items nothing uses any more (dead code).

    scripts/public-surface.py            # counts: pub items, those used outside
    scripts/public-surface.py --list     # and the items that would become pub(crate)
    scripts/public-surface.py --apply    # rewrite them
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
LIB = [p for p in sorted((ROOT / "src").rglob("*.rs")) if p != ROOT / "src" / "main.rs"]
OUTSIDE = [ROOT / "src" / "main.rs"] + [
    p for d in ("tests", "benches", "examples", "fuzz") for p in sorted((ROOT / d).rglob("*.rs"))
]

# What lib.rs documents as the facade, and what `outln!`/`errln!` expand to in the user's crate.
FACADE = {
    "app", "args", "Cli", "dispatch", "AppError", "exit_code",
    "spec", "load_sweep", "parse_sweep", "SweepFile", "InputError", "expand", "Plan", "TrainConfig",
    "data", "read_table", "load_dataset", "features", "Prepared", "load",
    "train", "fit", "RunData", "engine", "Model", "checkpoint",
    "report", "compare", "read_summary", "results", "predictions", "stats",
    "output", "write_stdout", "write_stderr",
}

ITEM = re.compile(
    r"^(?P<indent>\s*)pub (?P<kind>(?:unsafe |async |const )*fn|struct|enum|const|static|type|trait|mod|use)\s+"
    r"(?P<rest>.*)$"
)
FIELD = re.compile(r"^(?P<indent>\s*)pub (?P<name>[a-z_][a-z0-9_]*)\s*:")


def names_of(kind, rest):
    """The names a `pub` line defines (a `use` line: each name it re-exports)."""
    if kind != "use":
        m = re.match(r"(?:r#)?([A-Za-z_][A-Za-z0-9_]*)", rest)
        return [m.group(1)] if m else []
    names = []
    for part in re.split(r"[{},]", rest.rstrip(";")):
        part = part.strip()
        if not part or part == "*":
            continue
        m = re.search(r"\bas\s+([A-Za-z_][A-Za-z0-9_]*)$", part)
        names.append(m.group(1) if m else part.split("::")[-1].strip())
    return [n for n in names if n and n != "self" and n != "*"]


def outside_words():
    words = set()
    for p in OUTSIDE:
        words.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", p.read_text()))
    return words


def items():
    """(file, line index, kind, names) of every `pub` item and field of the library."""
    for path in LIB:
        lines = path.read_text().split("\n")
        for i, line in enumerate(lines):
            m = ITEM.match(line)
            if m:
                # A multi-line `pub use a::{\n b,\n c};` names its items on the lines below.
                rest = m.group("rest")
                j = i
                while m.group("kind") == "use" and ";" not in rest and j + 1 < len(lines):
                    j += 1
                    rest += lines[j]
                yield path, i, m.group("kind"), names_of(m.group("kind"), rest)
                continue
            f = FIELD.match(line)
            if f and not line.lstrip().startswith("pub fn"):
                yield path, i, "field", [f.group("name")]


def main():
    used = outside_words() | FACADE
    found = list(items())
    private = [(p, i, k, n) for p, i, k, n in found if n and not any(x in used for x in n)]
    count = lambda xs, fields: sum(1 for x in xs if (x[2] == "field") == fields)
    print(f"pub items: {count(found, False)} (and {count(found, True)} pub fields)")
    print(f"not used outside the library: {count(private, False)} items, {count(private, True)} fields")
    if "--list" in sys.argv:
        for p, i, k, n in private:
            print(f"{p.relative_to(ROOT)}:{i + 1}: {k} {', '.join(n)}")
    if "--apply" in sys.argv:
        by_file = {}
        for p, i, _, _ in private:
            by_file.setdefault(p, []).append(i)
        for p, rows in by_file.items():
            lines = p.read_text().split("\n")
            for i in rows:
                lines[i] = re.sub(r"^(\s*)pub ", r"\1pub(crate) ", lines[i], count=1)
            p.write_text("\n".join(lines))
        print(f"rewrote {len(private)} lines in {len(by_file)} files")


if __name__ == "__main__":
    main()
