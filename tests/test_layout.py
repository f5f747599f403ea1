"""The library's boundary: the core (`anisim/*.py`) never imports BentoML or Starlette; only the
wire layer (`anisim/api/`) and `service.py` do. And the README documents what the code defines."""

import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import anisim
from anisim import errors
from anisim.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_the_core_imports_neither_bentoml_nor_starlette():
    core = [f"anisim.{m.name}" for m in pkgutil.iter_modules(anisim.__path__) if not m.ispkg]
    assert "anisim.search" in core and "anisim.encoder" in core
    code = (f"import sys\nfor name in {core!r}:\n    __import__(name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('bentoml', 'starlette', '_bentoml_sdk')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]"


def _table_rows(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if line.strip().startswith("| ") and "---" not in line}


def test_every_http_status_in_the_readme_comes_from_the_errors_table():
    table = _table_rows(errors.__doc__)
    readme = (ROOT / "README.md").read_text()
    assert table <= _table_rows(readme), "copy the table of anisim/errors.py into the README"
    for error in errors.HTTP_ERRORS:
        assert f"| {error.status} | {error.__name__} |" in errors.__doc__


def test_every_setting_is_in_the_one_table_and_the_readme():
    import anisim.settings as settings
    variables = set(re.findall(r"env(?:\.get)?\(\"(ANISIM_\w+)\"", Path(settings.__file__).read_text()))
    variables |= set(re.findall(r"env\[\"(ANISIM_\w+)\"\]", Path(settings.__file__).read_text()))
    assert len(variables) >= 12
    readme = (ROOT / "README.md").read_text()
    for variable in variables:
        assert f"`{variable}`" in settings.__doc__ and f"`{variable}`" in readme, variable
    assert Settings.from_env({}) == Settings()


def test_the_readme_layout_section_names_every_module():
    layout = (ROOT / "README.md").read_text().split("## Layout")[1]
    for path in sorted((ROOT / "anisim").rglob("*.py")):
        if path.name != "__init__.py":
            assert re.search(rf"\b{re.escape(path.name)}\b", layout), path


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "home" / "README.md"]


@pytest.mark.parametrize("document", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(document):
    text = document.read_text()
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://")):
            continue
        path, _, anchor = target.partition("#")
        linked = (document.parent / path).resolve() if path else document
        assert linked.exists(), f"{document.name}: {target}"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", linked.read_text(), re.MULTILINE)
            assert anchor in {_anchor(h) for h in headings}, f"{document.name}: {target}"


def test_the_readme_is_short_and_links_every_doc():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 260
    for doc in (ROOT / "docs").glob("*.md"):
        assert f"docs/{doc.name}" in readme, doc.name
    for section in ("## Two commands", "## Try it", "## API", "### Errors", "## Configuration", "## Data",
                    "## Deploy", "## Quality", "## Performance", "## Layout"):
        assert section in readme, section


def test_every_make_target_and_command_says_what_it_does_and_how_long():
    targets = re.findall(r"^([a-z0-9-]+):.*?## (.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert len(targets) >= 10
    for name, description in targets:
        assert re.search(r"\d+ (s|min)|seconds|instant", description), name
    from anisim.cli import build_parser
    subcommands = build_parser()._subparsers._group_actions[0]  # argparse has no public door to these
    commands = subcommands.choices
    helps = {action.dest: action.help for action in subcommands._choices_actions}
    assert set(commands) == set(helps)
    for name, text in helps.items():
        assert re.search(r"\d+ (s|min)|seconds|second|minutes|instant", text or ""), name


def _pins(path: Path) -> dict[str, str]:
    """{package: its pin line} of a requirements file (markers and comments left out)."""
    pins = (re.fullmatch(r"([\w.-]+)==\S+", line.split("#")[0].strip()) for line in path.read_text().splitlines())
    return {pin[1].lower(): pin[0] for pin in pins if pin}


def test_the_cpu_image_takes_every_pin_but_the_torch_engines():
    full, cpu = _pins(ROOT / "requirements.txt"), _pins(ROOT / "requirements-cpu.txt")
    assert set(full) - set(cpu) == {"torch", "sentence-transformers", "transformers", "peft", "onnx"}
    assert all(full[name] == line for name, line in cpu.items()), "requirements-cpu.txt pins another version"


def test_every_file_the_package_reads_is_in_both_bentos():
    """A Bento holds only what bentofile*.yaml include (an editable install hides a missing file:
    fusion.toml was missing once, and only the built Bento failed)."""
    import pathspec
    files = [p.relative_to(ROOT).as_posix() for p in (ROOT / "anisim").rglob("*")
             if p.is_file() and "__pycache__" not in p.parts]
    for bentofile in sorted(ROOT.glob("bentofile*.yaml")):
        config = yaml.safe_load(bentofile.read_text())
        included = pathspec.PathSpec.from_lines("gitwildmatch", config["include"])
        excluded = pathspec.PathSpec.from_lines("gitwildmatch", config.get("exclude", []))
        missing = [f for f in files if not included.match_file(f) or excluded.match_file(f)]
        assert not missing, (bentofile.name, missing)


def test_the_page_asks_for_years_within_the_limits():
    from anisim.limits import MAX_YEAR, MIN_YEAR
    page = (ROOT / "anisim" / "api" / "page" / "index.html").read_text()
    for field in ("year_min", "year_max"):
        tag = re.search(rf'<input[^>]*id="{field}"[^>]*>', page).group(0)
        assert f'min="{MIN_YEAR}"' in tag and f'max="{MAX_YEAR}"' in tag, tag
