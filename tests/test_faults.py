"""Faults a home must survive: a kill at any point of a build, a flipped byte in any file, a full
disk, two builds at once, leftovers of killed runs. Each case checks what a reader then sees (the
healthy home's answers, or an honest refusal that names the fix, never a mix) and that the next
`anisim prepare` repairs the home. Small real sources (the first titles of two real source files)
keep each build to seconds; `anisim.faults` kills a run at a named point, as `kill -9` would.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import tmpfs

from anisim.api.backend import Backend
from anisim.api.schemas import SearchRequest
from anisim.catalog import load_catalog
from anisim.encoder import Embedder
from anisim.errors import AnisimError
from anisim.generations import MANIFEST
from anisim.models import MINILM, resolve
from anisim.settings import Settings

pytestmark = pytest.mark.slow  # builds, kills and rebuilds homes in subprocesses (~2 min)

ANIME_TITLES, MANGA_TITLES = 80, 60
QUERIES = {"anime": "a boy who becomes a ninja", "manga": "a girl at a high school falls in love"}
SETTINGS = Settings.from_env()


def _write_sources(folder: Path, drop_last: bool = False, edit_first: bool = False) -> Path:
    """Real sources, cut short: the first titles of the anime-mapper set and of a manga CSV."""
    (folder / "anime").mkdir(parents=True)
    (folder / "manga").mkdir()
    with (SETTINGS.data_dir / "anime" / "anime_mapper.jsonl").open(encoding="utf-8") as lines:
        rows = [json.loads(line) for _, line in zip(range(ANIME_TITLES * 2), lines)]
    rows = [r for r in rows if r.get("synopsis")][:ANIME_TITLES - (1 if drop_last else 0)]
    if edit_first:
        rows[0]["synopsis"] = "A new synopsis, written for a rebuild: a detective solves crimes in space."
    (folder / "anime" / "anime_mapper.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    csv_lines = (SETTINGS.data_dir / "manga" / "mal_zacharyunderscorelim.csv").read_text(encoding="utf-8").splitlines(True)
    import csv
    import io
    reader = list(csv.reader(io.StringIO("".join(csv_lines))))
    out = io.StringIO()
    csv.writer(out).writerows(reader[:MANGA_TITLES + 1])
    (folder / "manga" / "mal_zacharyunderscorelim.csv").write_text(out.getvalue(), encoding="utf-8")
    return folder


def prepare(home: Path, sources: Path, kill_at: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """`anisim prepare` of the stock model on `home`, in its own process (killed at `kill_at`)."""
    env = {**os.environ, "ANISIM_HOME": str(home), "ANISIM_DATA_DIR": str(sources), "ANISIM_MODELS": MINILM}
    env.pop("ANISIM_KILL_AT", None)
    if kill_at:
        env["ANISIM_KILL_AT"] = kill_at
    return subprocess.run([sys.executable, "-m", "anisim.cli", "prepare", "--models", MINILM],
                          env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sources")
    return {"old": _write_sources(root / "old"), "new": _write_sources(root / "new", drop_last=True, edit_first=True)}


@pytest.fixture(scope="module")
def healthy(tmp_path_factory, sources) -> Path:
    """A home built from the old sources, untouched by any test (copy it to break it)."""
    home = tmp_path_factory.mktemp("healthy") / "home"
    done = prepare(home, sources["old"])
    assert done.returncode == 0, done.stderr[-3000:]
    return home


@pytest.fixture(scope="module")
def embedder(healthy):
    return Embedder(resolve(MINILM), "onnx", healthy)


def copy_of(home: Path, tmp_path: Path) -> Path:
    target = tmp_path / "home"
    shutil.copytree(home, target)
    return target


def answers(home: Path, embedder: Embedder) -> dict[str, object]:
    """What a server on `home` answers per kind: (mode, ranked ids), or the 503's message."""
    backend = Backend(Settings.from_env({"ANISIM_HOME": str(home), "ANISIM_MODELS": MINILM}))

    async def encode(model: str, text: str):
        return embedder.encode([text])[0]

    out: dict[str, object] = {}
    for kind, text in QUERIES.items():
        try:
            answer = asyncio.run(backend.search(SearchRequest(kind=kind, query=text), encode))
            ids = [int(answer.records.items[int(p)]["id"]) for p in answer.page.positions]
            out[kind] = (answer.mode, ids)
        except AnisimError as problem:
            assert problem.status == 503, problem
            out[kind] = f"503: {problem}"
    return out


@pytest.fixture(scope="module")
def healthy_answers(healthy, embedder):
    found = answers(healthy, embedder)
    assert all(isinstance(v, tuple) and v[0] == "hybrid" for v in found.values()), found
    return found


@pytest.fixture(scope="module")
def rebuilt_answers(tmp_path_factory, sources, healthy, embedder):
    """What the home answers once rebuilt from the new sources without any fault."""
    home = copy_of(healthy, tmp_path_factory.mktemp("rebuilt"))
    assert prepare(home, sources["new"]).returncode == 0
    return answers(home, embedder)


def assert_repaired(home: Path, sources: Path, expected: dict, embedder: Embedder) -> None:
    """The next `anisim prepare` succeeds and the home answers as a healthy one does."""
    done = prepare(home, sources)
    assert done.returncode == 0, done.stderr[-3000:]
    assert answers(home, embedder) == expected
    assert not [p for p in home.rglob(".*.tmp")], "leftovers survived a successful prepare"


# ---- kill -9 at any point ----------------------------------------------------------------------

FRESH_POINTS = ["catalog-files-written", "catalog-manifest-written", "index-files-written", "export-files-written"]
REBUILD_POINTS = ["catalog-files-written", "catalog-generation-moved", "index-generation-moved",
                  "index-manifest-written"]


@pytest.mark.parametrize("point", FRESH_POINTS)
def test_a_fresh_build_killed_at_any_point_is_completed_by_the_next(point, tmp_path, sources, healthy, healthy_answers,
                                                                   embedder):
    home = tmp_path / "home"
    if point != "export-files-written":  # the export (~20 s a build) is made afresh only where its own point is
        shutil.copytree(healthy / "onnx", home / "onnx")
    killed = prepare(home, sources["old"], kill_at=point)
    assert killed.returncode == -9, killed.stderr[-2000:]
    for kind, seen in answers(home, embedder).items():  # nothing, or honest: never a 5xx, never a mix
        assert seen == healthy_answers[kind] or isinstance(seen, str) or seen[0] == "lexical", (kind, seen)
    assert_repaired(home, sources["old"], healthy_answers, embedder)


@pytest.mark.parametrize("point", REBUILD_POINTS)
def test_a_rebuild_killed_at_any_point_leaves_the_old_or_the_new_home(point, tmp_path, sources, healthy,
                                                                     healthy_answers, rebuilt_answers, embedder):
    home = copy_of(healthy, tmp_path)
    killed = prepare(home, sources["new"], kill_at=point)
    assert killed.returncode == -9, killed.stderr[-2000:]
    seen = answers(home, embedder)
    for kind in QUERIES:
        lexical_new = isinstance(seen[kind], tuple) and seen[kind][0] == "lexical"  # new catalog, index not yet
        assert seen[kind] in (healthy_answers[kind], rebuilt_answers[kind]) or lexical_new, (kind, seen[kind])
    assert_repaired(home, sources["new"], rebuilt_answers, embedder)


def test_two_builds_at_once_corrupt_nothing(tmp_path, sources, healthy, rebuilt_answers, embedder):
    home = copy_of(healthy, tmp_path)
    env = {**os.environ, "ANISIM_HOME": str(home), "ANISIM_DATA_DIR": str(sources["new"]), "ANISIM_MODELS": MINILM}
    runs = [subprocess.Popen([sys.executable, "-m", "anisim.cli", "prepare", "--models", MINILM], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert any("another anisim build is running" in out for out in outputs)
    assert answers(home, embedder) == rebuilt_answers


# ---- a flipped byte in any file ----------------------------------------------------------------

def _generation_file(folder: Path, name: str) -> Path:
    return folder / f"g-{json.loads((folder / MANIFEST).read_text())['generation']}" / name


def _flip(path: Path, at: float = 0.5, value: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    i = int(len(data) * at)
    data[i] = value if value is not None else data[i] ^ 0x10
    path.write_bytes(bytes(data))


FILES = {
    "anime items": lambda h: _generation_file(h / "catalog/anime", "items.parquet"),
    "anime synopses": lambda h: _generation_file(h / "catalog/anime", "synopses.parquet"),
    "anime vectors": lambda h: _generation_file(h / "anime" / MINILM, "vectors.npy"),
    "anime rows": lambda h: _generation_file(h / "anime" / MINILM, "rows.npy"),
    "manga BM25 file": lambda h: sorted((h / "lexical/manga").glob("*.npy"))[0],
}


@pytest.mark.parametrize("name", FILES)
def test_a_flipped_byte_is_refused_or_rebuilt_never_served(name, tmp_path, sources, healthy, healthy_answers,
                                                           embedder):
    home = copy_of(healthy, tmp_path)
    _flip(FILES[name](home))
    seen = answers(home, embedder)
    for kind in QUERIES:
        if seen[kind] != healthy_answers[kind]:
            honest = (isinstance(seen[kind], str) and "anisim" in seen[kind]) or seen[kind][0] == "lexical"
            assert honest, (kind, seen[kind])
    assert_repaired(home, sources["old"], healthy_answers, embedder)


@pytest.mark.parametrize("manifest", ["catalog/anime", f"anime/{MINILM}", f"onnx/{MINILM}"])
def test_a_manifest_with_an_invalid_utf8_byte_is_repaired_by_prepare(manifest, tmp_path, sources, healthy,
                                                                     healthy_answers, embedder):
    home = copy_of(healthy, tmp_path)
    _flip(home / manifest / MANIFEST, at=0.3, value=0xFF)
    if manifest.startswith("catalog"):
        with pytest.raises(AnisimError, match="unreadable.*anisim build-catalog"):
            load_catalog(home / "catalog", "anime")
    build_index = subprocess.run([sys.executable, "-m", "anisim.cli", "build-index", "--kind", "anime", "--model", MINILM,
                                  "--home", str(home)], capture_output=True, text=True, timeout=300,
                                 env={**os.environ, "ANISIM_HOME": str(home)})
    if manifest.startswith("catalog"):  # the index command needs the catalog: it says which command fixes that
        assert build_index.returncode == 2 and "anisim build-catalog" in build_index.stderr
    else:
        assert build_index.returncode == 0, build_index.stderr[-2000:]
    assert_repaired(home, sources["old"], healthy_answers, embedder)


# ---- a full disk, leftovers ----------------------------------------------------------------------

@pytest.fixture()
def small_disk(tmp_path):
    """A 200 MB tmpfs (`conftest.tmpfs`)."""
    with tmpfs(tmp_path / "disk", "200m") as mount:
        yield mount


def test_a_full_disk_ends_prepare_with_one_line_and_keeps_the_home(small_disk, sources, healthy, healthy_answers,
                                                                    embedder):
    home = copy_of(healthy, small_disk)
    ballast = small_disk / "ballast"
    free = shutil.disk_usage(small_disk).free
    ballast.write_bytes(b"\0" * max(free - 200_000, 0))  # too little room for a new generation
    done = prepare(home, sources["new"])
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and lines[-1].startswith("anisim: error: ") and "no space left on device" in lines[-1]
    assert "Traceback" not in done.stderr
    assert answers(home, embedder) == healthy_answers
    ballast.unlink()


def test_prepare_removes_what_killed_runs_left_and_nothing_else(tmp_path, sources, healthy, healthy_answers, embedder):
    home = copy_of(healthy, tmp_path)
    leftovers = [home / "catalog/anime/.items.parquet.abc123.tmp", home / "lexical/.anime.k2j3.tmp",
                 home / f"onnx/.{MINILM}.q9w8.tmp"]
    leftovers[0].write_bytes(b"half a file")
    for folder in leftovers[1:]:
        folder.mkdir()
        (folder / "model.onnx").write_bytes(b"\0" * 1000)
    kept = [home / "notes.tmp", home / ".hidden"]
    for path in kept:
        path.write_text("not anisim's")
    old = time.time() - 3600
    for path in leftovers + kept:
        os.utime(path, (old, old))
    done = prepare(home, sources["old"])
    assert done.returncode == 0 and "removed 3 leftover" in done.stdout
    assert not any(p.exists() for p in leftovers) and all(p.exists() for p in kept)
    assert answers(home, embedder) == healthy_answers


# ---- a broken home never hangs the server ---------------------------------------------------------

@pytest.mark.server
def test_a_server_on_a_damaged_home_starts_and_answers_honestly(tmp_path, healthy):
    """A damaged anime catalog used to crash the API worker at start, and BentoML restarted it in a
    loop while the port accepted connections it never answered. Now the server starts: health is a
    quick 503 naming the problem and its fix, /readyz is false, anime searches are 503, manga
    searches answer; and with no build running, a missing index is not called "building"."""
    import httpx

    from anisim.api.server import START_TIMEOUT_S, start_server, stop_server
    home = copy_of(healthy, tmp_path)
    _flip(FILES["anime items"](home))
    shutil.rmtree(home / "manga" / MINILM)
    process, url = start_server("service:AniSearch", {"ANISIM_HOME": str(home), "ANISIM_MODELS": MINILM},
                                tmp_path / "serve.log")
    try:
        deadline, health = time.monotonic() + START_TIMEOUT_S, None
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"{url}/v1/health", timeout=5)
                if "anime" in health.json().get("problems", {}):
                    break
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.5)
        assert health is not None and health.status_code == 503
        body = health.json()
        assert body["status"] == "unavailable"
        assert "checksum" in body["problems"]["anime"] and "anisim build-catalog" in body["problems"]["anime"]
        assert "anisim build-index --kind manga" in body["problems"][f"manga index of {MINILM}"]
        started = time.monotonic()
        anime = httpx.post(f"{url}/v1/search", json={"kind": "anime", "query": "a ninja"}, timeout=10)
        assert anime.status_code == 503 and "anisim build-catalog" in anime.json()["error"]
        assert str(tmp_path) not in health.text + anime.text and "$ANISIM_HOME" in anime.json()["error"]
        manga = httpx.post(f"{url}/v1/search", json={"kind": "manga", "query": "a girl in love"}, timeout=10)
        assert manga.status_code == 200 and manga.json()["mode"] == "lexical" and manga.json()["results"]
        assert httpx.get(f"{url}/readyz", timeout=10).status_code != 200
        assert time.monotonic() - started < 10
    finally:
        stop_server(process)
    log = (tmp_path / "serve.log").read_text()
    assert "a ninja" not in log and "Traceback" not in log
    assert str(home) in log  # the operator's log keeps the path the client is not shown
