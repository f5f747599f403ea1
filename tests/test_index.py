"""The embedding index: one encode path, incremental rebuilds, refusal of bad files."""

import json

import numpy as np
import pytest

from anisim.catalog import Catalog
from anisim.errors import IndexProblem
from anisim.index import build_index, index_dir, load_index, passages, text_hash
from anisim.models import MINILM, TUNED, ModelSpec, resolve
from anisim.text import clean_query

SPEC = resolve(MINILM)


def test_query_and_corpus_vectors_of_a_text_are_the_same(small_catalogs, small_home, encoder):
    catalog = small_catalogs["anime"]
    index = load_index(catalog, SPEC, small_home)
    text = catalog.synopses["text"].iloc[5]
    row = index.manifest["text_hashes"].index(text_hash(text))
    query = encoder.encode([clean_query(text)])[0]
    assert float(query @ index.vectors[row]) >= 0.9999
    assert np.allclose(np.linalg.norm(index.vectors, axis=1), 1.0, atol=1e-4)


def test_passages_split_on_sentences_and_cover_the_text():
    text = " ".join(f"Sentence number {i} has a few words in it." for i in range(30))
    parts = passages(text, 40)
    assert len(parts) > 1 and " ".join(parts) == text
    assert all(p.endswith(".") for p in parts)


def _with_text(catalog: Catalog, item_id: int, text: str) -> Catalog:
    synopses = catalog.synopses.copy()
    synopses.loc[synopses["item_id"] == item_id, "text"] = text
    return Catalog(catalog.kind, catalog.items, synopses)


@pytest.fixture()
def tiny(small_catalogs, tmp_path, encoder):
    """A 20-title catalog with its own index, in its own folder."""
    catalog = small_catalogs["manga"]
    tiny = catalog.subset(list(catalog.items["id"][:20]))
    build_index(tiny, encoder, tmp_path, passage_words=70)
    return tiny, tmp_path


def test_rebuild_after_changing_one_short_synopsis_encodes_exactly_one_text(tiny, encoder):
    catalog, home = tiny
    short = catalog.synopses[catalog.synopses["text"].str.split().str.len() < 60].iloc[0]
    changed = _with_text(catalog, short["item_id"], short["text"] + " Also, a dragon.")
    with pytest.raises(IndexProblem, match="stale"):
        load_index(changed, SPEC, home)
    _, stats = build_index(changed, encoder, home, passage_words=70)
    assert stats["encoded"] == 1 and stats["reused"] == stats["rows"] - 1
    assert load_index(changed, SPEC, home).manifest["catalog_hash"] == changed.content_hash()


def test_a_truncated_vectors_file_is_refused(tiny):
    catalog, home = tiny
    folder = index_dir(home, "manga", SPEC.name)
    vectors = folder / f"g-{json.loads((folder / 'manifest.json').read_text())['generation']}" / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:-100])
    with pytest.raises(IndexProblem, match="truncated or altered.*anisim build-index --kind manga"):
        load_index(catalog, SPEC, home)


def test_a_manifest_from_another_model_is_refused(tiny):
    catalog, home = tiny
    manifest_path = index_dir(home, "manga", SPEC.name) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest.update(model="all-mpnet-base-v2", dim=768)
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexProblem, match="built for model all-mpnet-base-v2"):
        load_index(catalog, SPEC, home)


def test_an_index_made_from_other_weights_of_the_same_model_is_refused(tiny):
    catalog, home = tiny
    retrained = ModelSpec(SPEC.name, SPEC.dim, package=SPEC.package, adapter=resolve(TUNED).adapter)
    assert retrained.fingerprint() != SPEC.fingerprint()
    with pytest.raises(IndexProblem, match="other weights of all-MiniLM-L6-v2"):
        load_index(catalog, retrained, home)


def test_a_missing_index_says_how_to_build_it(tiny):
    catalog, home = tiny
    other = ModelSpec(SPEC.name, SPEC.dim, package=SPEC.package)
    with pytest.raises(IndexProblem, match="no anime index.*anisim build-index --kind anime"):
        load_index(Catalog("anime", catalog.items, catalog.synopses), other, home)


def test_an_interrupted_build_leaves_the_previous_index(tiny, encoder):
    catalog, home = tiny
    before = load_index(catalog, SPEC, home).manifest["catalog_hash"]

    class Interrupted(Exception):
        pass

    class FailingEncoder:
        spec, max_seq_length = encoder.spec, encoder.max_seq_length

        def encode(self, texts):
            raise Interrupted

    changed = _with_text(catalog, int(catalog.items["id"].iloc[0]), "A brand new synopsis.")
    with pytest.raises(Interrupted):
        build_index(changed, FailingEncoder(), home, passage_words=70)
    assert load_index(catalog, SPEC, home).manifest["catalog_hash"] == before
    assert not [p for p in index_dir(home, "manga", SPEC.name).iterdir() if p.name.startswith(".")]


@pytest.mark.slow
def test_prepare_in_two_steps_builds_what_a_server_needs_then_the_indexes(small_catalogs, tmp_path):
    """`make serve`'s order: `--step serving` writes catalogs and their BM25 indexes but no vectors
    (the server can start); `--step indexes` builds the vectors from the saved catalogs alone."""
    import dataclasses

    from anisim.catalog import load_catalog, save_catalog
    from anisim.prepare import prepare
    from anisim.settings import Settings
    settings = dataclasses.replace(Settings.from_env(), home=tmp_path / "first", engine="torch")
    prepare([SPEC], settings, kinds=("manga",), step="serving", say=lambda line: None)
    assert load_catalog(settings.catalog_dir, "manga").items.shape[0] > 1000
    assert (settings.home / "lexical" / "manga").is_dir()
    assert not index_dir(settings.home, "manga", SPEC.name).exists()

    small = dataclasses.replace(settings, home=tmp_path / "small", data_dir=tmp_path / "no-sources-here")
    save_catalog(small_catalogs["manga"], small.catalog_dir)
    said: list[str] = []
    prepare([SPEC], small, kinds=("manga",), step="indexes", say=said.append)
    assert load_index(small_catalogs["manga"], SPEC, small.home).manifest["items"] == len(small_catalogs["manga"].items)
    assert any("manga index for" in line and "encoded" in line for line in said)
