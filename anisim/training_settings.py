"""What decides a trained adapter: one typed settings object, torch-free so that `anisim train
--help` can state its defaults without importing the training stack (`anisim.training`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainSettings:
    """Everything that decides the trained adapter (recorded in its model card). The defaults
    reproduce the shipped one."""

    seed: int = 13
    steps: int | None = None          # None: one pass over the mined pairs
    max_minutes: float | None = None  # stop early when this wall-clock budget is spent
    batch_size: int = 32              # pairs per step: each query's in-batch negatives are the others' texts
    chunk_size: int = 32              # texts embedded at once (`training._step`): memory, not the result
    learning_rate: float = 4e-4
    warmup_fraction: float = 0.1
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    scale: float = 20.0               # cosine -> logits, as sentence-transformers' MNRL loss
    query_tokens: int = 128
    passage_tokens: int = 160
    ict_per_kind: int = 1500
    titles_per_kind: int = 600
    noname_share: float = 0.0         # inverse-cloze fragments that lose their names (`pairs._inverse_cloze`)
    dev_passes: int = 1               # copies of each train-split dev pair
    hard_negatives: bool = False      # add a search-mined negative to each dev pair (`pairs.hard_negatives`)
