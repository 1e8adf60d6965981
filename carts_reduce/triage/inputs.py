"""Which files a triage looks at: files, folders (searched for MLIR and C), or ``@LIST`` files."""

from __future__ import annotations

from pathlib import Path

from carts_reduce.usage import UsageError

#: What a folder is searched for; a file named on the command line may be anything.
SUFFIXES = (".mlir", ".c")


def collect(arguments: list[str]) -> list[Path]:
    """The inputs, in a stable order (as given; a folder's sorted), each once."""
    found: list[Path] = []
    for argument in arguments:
        if argument.startswith("@"):
            found.extend(_listed(Path(argument[1:])))
            continue
        path = Path(argument)
        if path.is_dir():
            found.extend(_searched(path))
        elif path.exists():
            found.append(path)
        else:
            raise UsageError(f"{path}: no such file or folder; give MLIR or C files, folders of them, or @LIST")
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    if not unique:
        raise UsageError(f"no inputs found in {' '.join(arguments)}: folders are searched for {', '.join(SUFFIXES)} files")
    return list(unique.values())


def _searched(folder: Path) -> list[Path]:
    """A folder's MLIR and C files, below it too; hidden ones and earlier results left out."""
    return sorted(
        path for path in folder.rglob("*")
        if path.suffix in SUFFIXES and path.is_file() and ".reduced" not in path.name
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


def _listed(list_file: Path) -> list[Path]:
    """One path per line (``#`` starts a comment), relative to the list's folder."""
    try:
        lines = list_file.read_text().splitlines()
    except OSError as error:
        raise UsageError(f"@{list_file}: cannot read the list ({error.strerror})") from None
    paths = []
    for number, line in enumerate(lines, 1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        path = Path(entry) if Path(entry).is_absolute() else list_file.parent / entry
        if not path.is_file():
            raise UsageError(f"@{list_file}:{number}: {entry}: no such file")
        paths.append(path)
    return paths
