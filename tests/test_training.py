"""Training: pairs mined without leaking validation answers, and a tiny real run end to end
(a few LoRA steps on the real model, saved, merged and loaded like the shipped adapter)."""

import dataclasses
import json
import shlex
from collections import Counter

import numpy as np
import pytest
import torch

from anisim.cli import build_parser, main, train_settings
from anisim.encoder import Embedder
from anisim.engines.pytorch import load_model
from anisim.models import MINILM, ModelSpec, resolve
from anisim.pairs import VALIDATION_PERCENT, Pair, batches, hard_negatives, in_split, mine_pairs, near_copy, split_of
from anisim.query import Query
from anisim.ranking import top_positions
from anisim.text import without_names
from anisim.training import _embed, _loss, _step, _texts, rebuild_command, train_adapter
from anisim.training_settings import TrainSettings


def test_the_split_is_fixed_per_title_and_about_the_planned_size(dev_queries):
    queries = dev_queries["anime"]
    validation = in_split(queries, "anime", "validation")
    assert abs(len(validation) / len(queries) - VALIDATION_PERCENT / 100) < 0.05
    assert all(split_of("anime", q["id"]) == "validation" for q in validation)
    assert len(validation) + len(in_split(queries, "anime", "train")) == len(queries)


def test_mined_pairs_never_use_a_validation_query(small_catalogs, dev_queries):
    pairs = mine_pairs(small_catalogs, dev_queries, seed=1, ict_per_kind=50, titles_per_kind=20)
    sources = {p.source for p in pairs}
    assert {"ict", "title", "dev"} <= sources
    validation_texts = {q[form] for kind, queries in dev_queries.items()
                        for q in in_split(queries, kind, "validation") for form in ("query", "short", "noname")}
    dev = [p for p in pairs if p.source == "dev"]
    assert dev and not any(p.query in validation_texts for p in dev)
    for pair in dev:
        kind, item_id = pair.key.split(":")
        assert split_of(kind, int(item_id)) == "train"
    assert mine_pairs(small_catalogs, dev_queries, seed=1, ict_per_kind=50, titles_per_kind=20) == pairs


def test_nameless_fragments_and_repeated_dev_pairs_are_mined_when_asked(small_catalogs, dev_queries):
    plain = mine_pairs(small_catalogs, dev_queries, seed=5, ict_per_kind=200, titles_per_kind=0)
    mixed = mine_pairs(small_catalogs, dev_queries, seed=5, ict_per_kind=200, titles_per_kind=0,
                       noname_share=0.5, dev_passes=2)
    fragments = [p.query for p in mixed if p.source == "ict"]
    nameless = sum(without_names(q) == q for q in fragments)
    assert 0.3 * len(fragments) < nameless < 0.9 * len(fragments)
    assert sum(without_names(p.query) == p.query for p in plain if p.source == "ict") < nameless
    dev = [p for p in mixed if p.source == "dev"]
    assert len(dev) == 2 * sum(p.source == "dev" for p in plain)
    assert all(n % 2 == 0 for n in Counter(dev).values())  # a form equal to another is already a repeat


def test_no_batch_holds_two_pairs_of_one_title(small_catalogs, dev_queries):
    pairs = mine_pairs(small_catalogs, dev_queries, seed=2, ict_per_kind=100, titles_per_kind=100)
    plan = batches(pairs, 16)
    assert sum(len(b) for b in plan) == len(pairs)
    assert all(len({p.key for p in batch}) == len(batch) for batch in plan)


def test_hard_negatives_are_other_titles_the_search_ranks_high(small_catalogs, dev_queries, searchers, encoder):
    pairs = mine_pairs(small_catalogs, dev_queries, seed=4, ict_per_kind=20, titles_per_kind=10)
    mined = hard_negatives(pairs, searchers, encoder.encode)
    dev = [p for p in mined if p.source == "dev"]
    assert dev and all(p.negative and p.negative_key != p.key for p in dev)
    assert all(p.negative is None for p in mined if p.source != "dev")
    assert not any(near_copy(p.negative, p.positive) for p in dev)
    for pair in dev[:20]:  # the negative is a text the index holds for the title it names, ranked top ten
        kind, item_id = pair.negative_key.split(":")
        searcher = searchers[kind]
        position = int(searcher.catalog.position[int(item_id)])
        units = searcher.index.units
        assert pair.negative in {units.texts[r] for r in np.flatnonzero(units.items == position)}
        vector = encoder.encode([pair.query])[0]
        scores = searcher.scores(Query.parse(pair.query, "hybrid"), vector)
        assert position in set(top_positions(scores, 10).tolist())


def test_inverse_cloze_pairs_get_negatives_only_when_asked(small_catalogs, dev_queries, searchers, encoder):
    pairs = mine_pairs(small_catalogs, dev_queries, seed=4, ict_per_kind=20, titles_per_kind=10)
    mined = hard_negatives(pairs, searchers, encoder.encode, sources=("ict",))  # dev pairs: the test above
    ict = [p for p in mined if p.source == "ict"]
    assert ict and sum(p.negative is not None for p in ict) >= 0.8 * len(ict)
    assert all(p.negative_key != p.key and not near_copy(p.negative, p.positive) for p in ict if p.negative)
    assert all(p.negative is None for p in mined if p.source != "ict")


def test_near_copies_are_texts_that_share_most_of_their_words():
    story = "Ed and Al Elric lose their bodies trying to bring their mother back with alchemy."
    assert near_copy(story, story.replace("mother", "mom") + " A movie retelling.")
    assert not near_copy(story, "A girl who can see ghosts joins her school's occult club.")


def _batch_loss(model, batch, settings):
    queries, texts = _texts(batch)
    return _loss(_embed(model, queries, settings.query_tokens), _embed(model, texts, settings.passage_tokens),
                 batch, settings)


def test_a_negative_that_is_another_querys_own_title_is_not_held_against_it():
    model = load_model(resolve(MINILM), "cpu")
    settings = TrainSettings(query_tokens=32, passage_tokens=32)
    plain = [Pair("a slime in another world", "Satoru is reborn as a slime.", "anime:1", "dev"),
             Pair("an elf mage outlives her party", "Frieren the elf mage travels on.", "anime:2", "dev")]
    # the same extra text, once as a text of the first query's own title, once of a third title
    own = [plain[0], dataclasses.replace(plain[1], negative="A chef cooks.", negative_key="anime:1")]
    other = [plain[0], dataclasses.replace(plain[1], negative="A chef cooks.", negative_key="anime:3")]
    with torch.inference_mode():
        loss = {name: float(_batch_loss(model, batch, settings)) for name, batch in
                (("plain", plain), ("own", own), ("other", other))}
    # a negative for the second query only (masked for the first), then a negative for both
    assert loss["plain"] < loss["own"] < loss["other"]


def test_a_step_in_chunks_has_the_gradients_of_the_whole_batch():
    model = load_model(resolve(MINILM), "cpu")
    model.eval()
    batch = [Pair("a slime in another world", "Satoru is reborn as a slime.", "anime:1", "dev",
                  negative="A chef cooks.", negative_key="anime:3"),
             Pair("an elf mage outlives her party", "Frieren the elf mage travels on.", "anime:2", "dev"),
             Pair("boys play volleyball", "Hinata joins the Karasuno volleyball club.", "anime:4", "dev")]
    settings = TrainSettings(query_tokens=32, passage_tokens=32, chunk_size=1)
    weight = model[0].auto_model.encoder.layer[0].attention.self.query.weight
    whole = _batch_loss(model, batch, settings)
    whole.backward()
    expected, weight.grad = weight.grad.clone(), None
    assert _step(model, batch, settings) == pytest.approx(float(whole), abs=1e-5)
    assert torch.allclose(weight.grad, expected, atol=1e-6) and float(expected.abs().sum()) > 0


def test_the_cards_rebuild_command_parses_back_into_its_settings():
    recipe = TrainSettings(steps=208, batch_size=32, learning_rate=4e-4, hard_negatives=False, noname_share=0.0)
    for settings in (TrainSettings(), recipe, TrainSettings(ict_negatives=True)):
        command = rebuild_command(dataclasses.asdict(settings))
        args = build_parser().parse_args(shlex.split(command)[1:])
        assert train_settings(args) == settings, command


def test_inverse_cloze_negatives_without_hard_negatives_are_refused_before_any_work(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "a"), "--ict-negatives", "--no-hard-negatives"]) == 2
    assert "--ict-negatives needs" in capsys.readouterr().err and not (tmp_path / "a").exists()


@pytest.fixture(scope="module")
def tiny_adapter(small_catalogs, dev_queries, searchers, tmp_path_factory):
    out = tmp_path_factory.mktemp("adapter") / "tiny"
    settings = TrainSettings(seed=3, steps=2, batch_size=8, chunk_size=4, learning_rate=1e-3, ict_per_kind=20,
                             titles_per_kind=10, hard_negatives=True)  # mined with the stock model's search
    record = train_adapter(resolve(MINILM), small_catalogs, dev_queries, out, settings, searchers)
    return out, record


@pytest.mark.slow
def test_a_tiny_training_run_saves_an_adapter_with_its_card(tiny_adapter):
    out, record = tiny_adapter
    assert record["steps_done"] == 2 and not record["stopped_by_budget"]
    assert record["trainable_parameters"] == 675_840  # LoRA r=16 on query/key/value/dense
    assert {"adapter_config.json", "adapter_model.safetensors", "README.md", "training.json"} <= {
        p.name for p in out.iterdir()}
    assert (out / "adapter_model.safetensors").stat().st_size < 4_000_000
    assert json.loads((out / "training.json").read_text())["data"] == record["data"]
    card = (out / "README.md").read_text()
    assert "anisim train --out" in card and "--steps 2 --batch-size 8 --learning-rate 0.001 --ict-per-kind 20" in card
    assert "hard-negatives" not in card  # a default is not named


def test_the_adapter_merges_into_the_base_and_moves_its_vectors(tiny_adapter, encoder):
    out, _ = tiny_adapter
    tuned = Embedder(ModelSpec("tiny", 384, package=resolve(MINILM).package, adapter=str(out)), "torch", device="cpu")
    texts = ["a boy reborn as a slime in another world", "an elf mage outlives her hero party"]
    before, after = encoder.encode(texts), tuned.encode(texts)
    assert np.allclose(np.linalg.norm(after, axis=1), 1.0, atol=1e-4)
    cosines = np.sum(before * after, axis=1)
    assert np.all(cosines < 0.99999) and np.all(cosines > 0.5)
