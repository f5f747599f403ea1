"""The ranking formula as data: anisim/fusion.toml, the committed trials, and `anisim eval --ranking`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from anisim.errors import RequestError
from anisim.fusion import DEFAULT_FILE, FUSIONS, Fusion, load_fusions, to_toml
from anisim.limits import KINDS
from anisim.models import MINILM
from anisim.query import Query

TRIALS = Path(__file__).resolve().parents[1] / "scripts" / "trials"


class _Ones:
    def scores(self, query, vector):
        return np.ones(3, dtype=np.float32)


class _Refuses:
    def scores(self, query, vector):
        raise AssertionError("a term with weight 0 was computed")


def test_a_term_with_weight_zero_is_never_computed():
    fusion = Fusion({"dense": 1.0, "bm25": 0.0}, {"popularity": 0.0}, {"type": 0.0, "era": 0.5})
    terms = {"dense": _Ones(), "bm25": _Refuses(), "popularity": _Refuses(), "type": _Refuses(), "era": _Ones()}
    assert np.allclose(fusion.scores(terms, Query("x"), None), 1.0)  # (1 + 0.5) / (1 + 0.5)


def test_the_shipped_formula_and_every_trial_file_load_and_round_trip(tmp_path):
    assert set(FUSIONS) == set(KINDS) == set(load_fusions(DEFAULT_FILE))
    (tmp_path / "again.toml").write_text(to_toml(FUSIONS))
    assert load_fusions(tmp_path / "again.toml") == FUSIONS
    trials = sorted(TRIALS.glob("*.toml"))
    assert trials
    for path in trials:
        assert load_fusions(path), path.name


@pytest.mark.parametrize("text, message", [
    ("[anime.similarity]\nbm25 = 1\ndense_twice = 1\n", "no term dense_twice"),
    ("[anime.similarity]\nbm25 = -1\n", "at least 0"),
    ("[anime.priors]\npopularity = 1\n", "needs a [similarity] group"),
    ("[anime.similarity\n", "cannot read"),
])
def test_a_bad_ranking_file_is_a_clear_error(tmp_path, text, message):
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(RequestError, match=message.replace("[", r"\[")):
        load_fusions(tmp_path / "bad.toml")


def test_anisim_eval_runs_a_trial_without_a_code_change(small_home, dev_queries, tmp_path):
    """A ranking of BM25 alone must score exactly as lexical mode does."""
    queries = tmp_path / "queries.jsonl"
    queries.write_text("".join(json.dumps(q) + "\n" for q in dev_queries["anime"][:80]))
    (tmp_path / "bm25.toml").write_text("[anime.similarity]\nbm25 = 1.0\n")

    def run(*extra: str) -> dict:
        command = [sys.executable, "-m", "anisim.cli", "eval", "--kind", "anime", "--model", MINILM, "--home",
                   str(small_home), "--queries", str(queries), "--json", *extra]
        return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    trial, lexical, hybrid = run("--ranking", str(tmp_path / "bm25.toml")), run("--mode", "lexical"), run()
    forms = ("query", "short", "noname")
    assert [trial[f] for f in forms] == [lexical[f] for f in forms] != [hybrid[f] for f in forms]
    (tmp_path / "manga.toml").write_text("[manga.similarity]\nbm25 = 1.0\n")
    refused = subprocess.run([sys.executable, "-m", "anisim.cli", "eval", "--kind", "anime", "--home", str(small_home),
                              "--ranking", str(tmp_path / "manga.toml")], capture_output=True, text=True)
    assert refused.returncode != 0 and "has no [anime.similarity]" in refused.stderr
