"""The `anisim` command: build catalogs and indexes, list models, search, evaluate, train.

Run `anisim --help` or `anisim <command> --help`. Defaults come from the environment
(`anisim.settings`), read once.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import logging
import sys
from pathlib import Path

from anisim.engines import ENGINES
from anisim.errors import AnisimError
from anisim.index import DEFAULT_PASSAGE_WORDS
from anisim.limits import KINDS
from anisim.pairs import SPLITS
from anisim.settings import DEFAULT_MODE, MODES, PREPARE_STEPS, Settings
from anisim.training_settings import RECIPE_FLAGS, RecipeFlag, TrainSettings

SETTINGS = Settings.from_env()
TRAIN = TrainSettings()  # the shipped adapter's recipe: `anisim train`'s defaults


def _cmd_build_catalog(args: argparse.Namespace) -> None:
    from anisim.buildlock import build_lock
    from anisim.catalog import build_catalog, save_catalog
    with build_lock(args.out.parent):
        for kind in args.kind:
            catalog, report = build_catalog(args.sources, kind)
            save_catalog(catalog, args.out)
            print("\n".join(report.lines()))
    print(f"catalogs written to {args.out}")


def _cmd_build_index(args: argparse.Namespace) -> None:
    from anisim.buildlock import build_lock
    from anisim.catalog import load_catalog
    from anisim.encoder import Embedder
    from anisim.index import build_index
    from anisim.models import resolve
    embedder = Embedder(resolve(args.model), args.engine, args.home, args.device)
    with build_lock(args.home):
        for kind in args.kind:
            catalog = load_catalog(args.home / "catalog", kind)
            _, stats = build_index(catalog, embedder, args.home, passage_words=args.passage_words)
            rate = f" at {stats['rate']} texts/s" if stats["rate"] else ""
            print(f"{kind} index for {embedder.spec.name}: {stats['rows']:,} rows; encoded {stats['encoded']:,}"
                  f" in {stats['seconds']} s{rate}, reused {stats['reused']:,} ({embedder.engine} on {embedder.device})")


def _cmd_prepare(args: argparse.Namespace) -> None:
    from anisim.models import resolve
    from anisim.prepare import prepare
    specs = [resolve(name) for name in args.models.split(",")]
    settings = dataclasses.replace(SETTINGS, data_dir=args.sources, home=args.home, engine=args.engine)
    prepare(specs, settings, tuple(args.kind), args.passage_words, args.device, say=lambda line: print(line, flush=True),
            step=args.step)


def _cmd_sync(args: argparse.Namespace) -> None:
    import time

    from anisim.jikan import JikanClient, Politeness
    from anisim.sync import sync
    politeness = Politeness(per_second=SETTINGS.jikan_per_second, per_minute=SETTINGS.jikan_per_minute,
                            timeout_s=SETTINGS.jikan_timeout_s)
    client = JikanClient(SETTINGS.jikan_url, politeness)
    started = time.monotonic()
    try:
        for kind in KINDS if args.kind == "all" else (args.kind,):
            left = None if args.max_minutes is None else max(args.max_minutes - (time.monotonic() - started) / 60, 0.001)
            report = sync(kind, args.sources, client, full=args.full, max_minutes=left)
            print("\n".join(report.lines()), flush=True)
    finally:
        client.close()
    print(f"{client.requests:,} requests to {SETTINGS.jikan_url} ({client.retries:,} retries) in "
          f"{(time.monotonic() - started) / 60:.1f} min; titles in {args.sources}/<kind>/jikan/", flush=True)
    if args.prepare:
        _cmd_prepare(argparse.Namespace(**{**vars(args), "kind": list(KINDS), "models": ",".join(SETTINGS.models),
                                           "step": "all"}))


def _cmd_search(args: argparse.Namespace) -> None:
    from anisim.api.records import RecordMaker
    from anisim.encoder import Embedder
    from anisim.models import resolve
    from anisim.query import Query
    from anisim.search import Searcher
    spec = resolve(args.model)
    searcher = Searcher.open(args.kind, spec, args.home)
    encode = Embedder(spec, SETTINGS.engine, args.home, latency=True).encode
    page = searcher.search(Query.parse(args.query, args.mode, searcher.names), encode, args.page, args.page_size)
    for record in RecordMaker(searcher.catalog, searcher.columns).v1(page):
        english = f" ({record['title_english']})" if record["title_english"] else ""
        print(f"{record['rank']:>4}. {record['similarity']:.3f}  [{record['id']}] {record['title']}{english}")
    print(f"page {args.page}, {page.total:,} titles in all")


def _cmd_eval(args: argparse.Namespace) -> None:
    from anisim.encoder import Embedder
    from anisim.evaluation import FORMS, evaluate, load_queries
    from anisim.fusion import trial_fusion
    from anisim.models import resolve
    from anisim.pairs import in_split
    from anisim.search import Searcher
    spec = resolve(args.model)
    queries = in_split(load_queries(args.queries or SETTINGS.eval_dir / f"{args.kind}_dev.jsonl"),
                       args.kind, args.split)
    searcher = Searcher.open(args.kind, spec, args.home)  # read-only: a missing index says how to build it
    if args.ranking:
        searcher = searcher.with_fusion(trial_fusion(args.ranking, args.kind))
    report = evaluate(searcher, Embedder(spec, SETTINGS.engine, args.home).encode, queries, args.mode)
    if args.json:
        print(json.dumps({**report, "split": args.split}))
        return
    ranking = f" / ranking {args.ranking}" if args.ranking else ""
    print(f"{report['kind']} / {report['model']} / {report['mode']}{ranking} / {args.split} split: {report['n']:,} "
          f"queries ({report['missing_answers']} answers not in the catalog)")
    print(f"{'form':<8} {'recall@1':>9} {'recall@10':>10} {'recall@100':>11} {'mrr@10':>8}")
    for form in (f for f in FORMS if f in report):
        m = report[form]
        print(f"{form:<8} {m['recall@1']:>9.3f} {m['recall@10']:>10.3f} {m['recall@100']:>11.3f} {m['mrr@10']:>8.3f}")


def _cmd_mcp(args: argparse.Namespace) -> None:
    import asyncio

    from anisim.api.mcp import HttpDoor, build_server, run_stdio
    asyncio.run(run_stdio(build_server(HttpDoor(args.url))))


def train_settings(args: argparse.Namespace) -> TrainSettings:
    """The recipe `anisim train`'s flags name (every setting without a flag keeps its default)."""
    return TrainSettings(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainSettings)
                            if hasattr(args, f.name)})


def _cmd_train(args: argparse.Namespace) -> None:
    from anisim.catalog import load_catalog
    from anisim.evaluation import load_queries
    from anisim.models import resolve
    from anisim.search import Searcher
    from anisim.training import train_adapter
    settings = train_settings(args)
    if settings.ict_negatives and not settings.hard_negatives:
        raise AnisimError("--ict-negatives needs the hard negatives that --no-hard-negatives turns off")
    base = resolve(args.base)
    # the catalogs `anisim prepare` saved; hard negatives also need the base model's index of them
    searchers = {kind: Searcher.open(kind, base, args.home) for kind in KINDS} if settings.hard_negatives else None
    catalogs = {kind: searchers[kind].catalog if searchers else load_catalog(args.home / "catalog", kind)
                for kind in KINDS}
    dev = {kind: load_queries(SETTINGS.eval_dir / f"{kind}_dev.jsonl") for kind in KINDS}
    record = train_adapter(base, catalogs, dev, args.out, settings, searchers, device=args.device)
    print(json.dumps(record, indent=1))
    print(f"adapter written to {args.out}")


def _cmd_models(args: argparse.Namespace) -> None:
    from anisim.models import REGISTRY
    rows = [{"name": s.name, "aliases": list(s.aliases), "dim": s.dim, "available": s.available,
             "default": s.name == SETTINGS.default_model, "why": None if s.available else s.why_unavailable()}
            for s in REGISTRY]
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    for row in rows:
        state = "available" if row["available"] else f"unavailable: {row['why']}"
        print(f"{row['name']:<34} dim {row['dim']:<5} {state}{' (default)' if row['default'] else ''}")


def _home(p: argparse.ArgumentParser) -> None:
    p.add_argument("--home", type=Path, default=SETTINGS.home,
                   help="catalogs and indexes folder (default: $ANISIM_HOME or %(default)s)")


def _sources(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sources", type=Path, default=SETTINGS.data_dir,
                   help="folder with anime/ and manga/ source files (default: $ANISIM_DATA_DIR or %(default)s)")


def _vector_options(p: argparse.ArgumentParser) -> None:
    """The options every command that builds vectors takes."""
    _home(p)
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--engine", choices=ENGINES, default=SETTINGS.engine,
                   help="onnx, torch, or auto: torch on a GPU, ONNX Runtime on a CPU (default: $ANISIM_ENGINE or %(default)s)")
    p.add_argument("--passage-words", type=int, default=DEFAULT_PASSAGE_WORDS,
                   help="also embed passages of about this many words; 0 embeds whole synopses only")


def _recipe_argument(parser: argparse.ArgumentParser, recipe: RecipeFlag) -> None:
    """One `anisim train` flag of the recipe, typed and defaulted by its TrainSettings field."""
    default = getattr(TRAIN, recipe.name)
    if isinstance(default, bool):
        parser.add_argument(recipe.flag, action=argparse.BooleanOptionalAction, default=default,
                            help=f"{recipe.help} (default: %(default)s)")
    elif default is None:  # --steps, the one recipe setting without a default value: a count
        parser.add_argument(recipe.flag, type=int, default=None, help=recipe.help)
    else:
        parser.add_argument(recipe.flag, type=type(default), default=default, help=f"{recipe.help} (default: %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="anisim", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    kinds = dict(choices=KINDS, nargs="+", default=list(KINDS), help="anime, manga or both (default)")
    model = dict(default=SETTINGS.default_model, help="model name or alias (see `anisim models`; default: %(default)s)")

    p = sub.add_parser("build-catalog", help="merge the raw MAL sources into catalogs (seconds)")
    _sources(p)
    p.add_argument("--out", type=Path, default=SETTINGS.catalog_dir, help="output folder (default: %(default)s)")
    p.add_argument("--kind", **kinds)
    p.set_defaults(func=_cmd_build_catalog)

    p = sub.add_parser("build-index", help="embed every synopsis (minutes; re-encodes only changed texts)")
    p.add_argument("--kind", **kinds)
    p.add_argument("--model", **model)
    _vector_options(p)
    p.set_defaults(func=_cmd_build_index)

    p = sub.add_parser("prepare", help="build catalogs, and each served model's index only if missing or stale "
                                       "(seconds when current; ~11 min for a first whole index)")
    p.add_argument("--kind", **kinds)
    p.add_argument("--models", default=",".join(SETTINGS.models),
                   help="comma-separated models to index (default: $ANISIM_MODELS or %(default)s)")
    p.add_argument("--step", choices=PREPARE_STEPS, default="all",
                   help="serving: only what a server needs to start (catalogs, BM25, ONNX exports; seconds); "
                        "indexes: only the indexes, from the saved catalogs (minutes); default: %(default)s")
    _sources(p)
    _vector_options(p)
    p.set_defaults(func=_cmd_prepare)

    p = sub.add_parser("sync", help="fetch the catalog from the Jikan v4 API into the sources folder (a full crawl at "
                                    "Jikan's limits: ~20 min for anime, ~50 for manga; then minutes)",
                       description="Crawl MyAnimeList through the Jikan v4 API ($ANISIM_JIKAN_URL) into "
                                   "<sources>/<kind>/jikan/, which `anisim build-catalog` reads first. The first run "
                                   "crawls every title; later runs fetch new ids and, for anime, this and next "
                                   "season's titles. At most 3 requests a second and 60 a minute; resumable after "
                                   "a kill or --max-minutes: run the same command again.")
    p.add_argument("--kind", choices=(*KINDS, "all"), default="all", help="anime, manga or all (default: %(default)s)")
    p.add_argument("--full", action="store_true", help="crawl every title again (unchanged pages cost a 304)")
    p.add_argument("--max-minutes", type=float, default=None, help="stop at the next page after this many minutes "
                                                                   "(the next run goes on from there)")
    p.add_argument("--prepare", action="store_true", help="then `anisim prepare` from these sources: only new or "
                                                         "changed synopses are encoded")
    _sources(p)
    _vector_options(p)
    p.set_defaults(func=_cmd_sync)

    p = sub.add_parser("search", help="search from the command line (loads the model: a few seconds)")
    p.add_argument("query", help="a description of the title")
    p.add_argument("--kind", choices=KINDS, default="anime")
    p.add_argument("--model", **model)
    p.add_argument("--mode", choices=MODES, default=DEFAULT_MODE)
    p.add_argument("--page", type=int, default=1)
    p.add_argument("--page-size", type=int, default=10)
    _home(p)
    p.set_defaults(func=_cmd_search)

    p = sub.add_parser("eval", help="known-item retrieval quality: recall@1, @10, @100, MRR@10 (read-only; ~1 min)")
    p.add_argument("--kind", choices=KINDS, default="anime")
    p.add_argument("--queries", type=Path, default=None,
                   help="a .jsonl query set (default: $ANISIM_EVAL_DIR/<kind>_dev.jsonl)")
    p.add_argument("--split", choices=SPLITS, default="all",
                   help="dev queries of all titles, or only those of the train / validation split (see anisim.pairs)")
    p.add_argument("--model", **model)
    p.add_argument("--mode", choices=MODES, default=DEFAULT_MODE)
    p.add_argument("--ranking", type=Path, default=None,
                   help="a ranking file (anisim/fusion.toml's shape) to try instead of the kind's own: a trial "
                        "without a code change (scripts/trials/)")
    _home(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("train", help="fine-tune a LoRA adapter on MiniLM (2 CPU cores: ~32 s a step of 128, "
                                     "~52 min in all; see --steps, --max-minutes)",
                       description="Fine-tune a LoRA adapter on the base model from the catalogs `anisim prepare` "
                                   "saved. Hard negatives (on by default) are mined with the base model's own "
                                   "search, so its index must be built first (`anisim prepare --models "
                                   "all-MiniLM-L6-v2`, ~10 min); --no-hard-negatives does without. The defaults "
                                   "reproduce the shipped adapter.")
    p.add_argument("--out", type=Path, required=True, help="folder for the adapter and its training record")
    p.add_argument("--base", default="all-MiniLM-L6-v2", help="base model (default: %(default)s)")
    p.add_argument("--max-minutes", type=float, default=None, help="stop early after this many minutes")
    p.add_argument("--seed", type=int, default=TRAIN.seed, help="seeds mining, batch order and initialisation "
                                                                "(default: %(default)s)")
    p.add_argument("--device", default="cpu", help="where to train: cpu, cuda (default: %(default)s, as the "
                                                   "shipped adapter was)")
    for recipe in RECIPE_FLAGS:
        _recipe_argument(p, recipe)
    _home(p)
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("mcp", help="speak MCP on stdin/stdout for a desktop assistant, over a running anisim "
                                   "(starts in about a second; loads no model)",
                       description="An MCP server on stdio (search_anime, search_manga, similar_titles, get_title, "
                                   "list_filters) whose tools call a running anisim's v1 API. Point a desktop "
                                   "assistant's MCP configuration at `anisim mcp --url http://127.0.0.1:3000`.")
    p.add_argument("--url", default="http://127.0.0.1:3000", help="the running anisim (default: %(default)s)")
    p.set_defaults(func=_cmd_mcp)

    p = sub.add_parser("models", help="list known models and whether each is installed (instant)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_models)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        args.func(args)
    except AnisimError as exc:
        print(f"anisim: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # reading or writing outside anisim's own writers: still one line
        where = f"{exc.filename}: " if exc.filename else ""
        why = "no space left on device" if exc.errno == errno.ENOSPC else (exc.strerror or type(exc).__name__)
        print(f"anisim: error: {where}{why}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("anisim: interrupted; nothing was half-written", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
