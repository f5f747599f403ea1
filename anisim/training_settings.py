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
    batch_size: int = 128             # pairs per step: each query's in-batch negatives are the others' texts
    chunk_size: int = 32              # texts embedded at once (`training._step`): memory, not the result
    learning_rate: float = 6e-4
    warmup_fraction: float = 0.1
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    scale: float = 20.0               # cosine -> logits, as sentence-transformers' MNRL loss
    query_tokens: int = 128
    passage_tokens: int = 160
    ict_per_kind: int = 3000
    titles_per_kind: int = 600
    noname_share: float = 0.5         # inverse-cloze fragments that lose their names (`pairs._inverse_cloze`)
    dev_passes: int = 2               # copies of each train-split dev pair
    hard_negatives: bool = True       # add a search-mined negative to each dev pair (`pairs.hard_negatives`)
    ict_negatives: bool = False       # and to each inverse-cloze pair


@dataclass(frozen=True)
class RecipeFlag:
    """A setting `anisim train` takes as a flag, and the model card's rebuild command names
    whenever it differs from its default (`training.rebuild_command`)."""

    name: str  # the TrainSettings field; the flag is --name-with-dashes
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


RECIPE_FLAGS = (
    RecipeFlag("steps", "optimizer steps (default: one pass over the pairs)"),
    RecipeFlag("batch_size", "pairs per step, each query's in-batch negatives"),
    RecipeFlag("learning_rate", "peak"),
    RecipeFlag("hard_negatives", "give each dev pair a negative: the other title the base model's search ranks first"),
    RecipeFlag("ict_negatives", "give each inverse-cloze pair such a negative too (needs --hard-negatives)"),
    RecipeFlag("ict_per_kind", "inverse-cloze pairs mined per kind"),
    RecipeFlag("noname_share", "share of inverse-cloze fragments stripped of their names, like the dev sets' noname form"),
    RecipeFlag("dev_passes", "copies of each train-split dev pair"),
)
