"""The `anisim` command: build catalogs and indexes, list models, search, evaluate.

Run `anisim --help` or `anisim <command> --help`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from anisim import config
from anisim.errors import AnisimError
from anisim.models import DEFAULT_MODEL
from anisim.search import DEFAULT_MODE, MODES
from anisim.store import DEFAULT_PASSAGE_WORDS


def _cmd_build_catalog(args: argparse.Namespace) -> None:
    from anisim.catalog import build_catalog, save_catalog
    for kind in args.kind:
        catalog, report = build_catalog(args.sources, kind)
        save_catalog(catalog, args.out)
        print("\n".join(report.lines()))
    print(f"catalogs written to {args.out}")


def _cmd_build_index(args: argparse.Namespace) -> None:
    from anisim.catalog import load_catalog
    from anisim.encoder import Encoder
    from anisim.index import build_index
    from anisim.models import resolve
    spec = resolve(args.model)
    encoder = Encoder(spec, device=args.device)
    for kind in args.kind:
        catalog = load_catalog(args.catalog, kind)
        _, stats = build_index(catalog, encoder, args.home, passage_words=args.passage_words)
        rate = f" at {stats['rate']} texts/s" if stats["rate"] else ""
        print(f"{kind} index for {spec.name}: {stats['rows']:,} rows; encoded {stats['encoded']:,}"
              f" in {stats['seconds']} s{rate}, reused {stats['reused']:,} ({encoder.device})")


def _cmd_prepare(args: argparse.Namespace) -> None:
    from anisim.models import resolve
    from anisim.store import prepare
    lines = prepare(resolve(args.model), tuple(args.kind), args.sources, args.home, args.passage_words, args.device)
    print("\n".join(lines))


def _cmd_search(args: argparse.Namespace) -> None:
    from anisim.encoder import Encoder
    from anisim.models import resolve
    from anisim.records import RecordMaker
    from anisim.store import open_searcher
    from anisim.text import clean_query
    spec = resolve(args.model)
    searcher = open_searcher(args.kind, spec, args.home)
    query = clean_query(args.query)
    vector = Encoder(spec).encode([query])[0] if searcher.needs_vector(args.mode) else None
    page = searcher.search(query, vector, args.mode, args.page, args.page_size)
    for record in RecordMaker(searcher.catalog).v1(page):
        english = f" ({record['title_english']})" if record["title_english"] else ""
        print(f"{record['rank']:>4}. {record['similarity']:.3f}  [{record['id']}] {record['title']}{english}")
    print(f"page {args.page}, {page.total:,} titles in all")


def _cmd_eval(args: argparse.Namespace) -> None:
    from anisim.encoder import Encoder
    from anisim.evaluation import evaluate, load_queries
    from anisim.models import resolve
    from anisim.store import open_searcher, prepare
    spec = resolve(args.model)
    queries = load_queries(args.queries or config.eval_dir() / f"{args.kind}_dev.jsonl")
    prepare(spec, (args.kind,), home=args.home)  # reuses the index when it is up to date
    searcher = open_searcher(args.kind, spec, args.home)
    report = evaluate(searcher, Encoder(spec).encode, queries, args.mode)
    if args.json:
        print(json.dumps(report))
        return
    print(f"{report['kind']} / {report['model']} / {report['mode']}: {report['n']:,} queries "
          f"({report['missing_answers']} answers not in the catalog)")
    print(f"{'form':<8} {'recall@1':>9} {'recall@10':>10} {'mrr@10':>8}")
    for form in ("query", "short", "noname"):
        if form in report:
            m = report[form]
            print(f"{form:<8} {m['recall@1']:>9.3f} {m['recall@10']:>10.3f} {m['mrr@10']:>8.3f}")


def _cmd_models(args: argparse.Namespace) -> None:
    from anisim.models import REGISTRY
    rows = [{"name": s.name, "aliases": list(s.aliases), "dim": s.dim, "available": s.available,
             "why": None if s.available else s.why_unavailable()} for s in REGISTRY]
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    for row in rows:
        state = "available" if row["available"] else f"unavailable: {row['why']}"
        print(f"{row['name']:<34} dim {row['dim']:<5} {state}")


def _add_model_options(p: argparse.ArgumentParser) -> None:
    """The options every command that builds vectors takes."""
    p.add_argument("--model", default=DEFAULT_MODEL, help="model name (see `anisim models`)")
    p.add_argument("--home", type=Path, default=config.home_dir(),
                   help="catalogs and indexes folder (default: $ANISIM_HOME or %(default)s)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--passage-words", type=int, default=DEFAULT_PASSAGE_WORDS,
                   help="also embed passages of about this many words; 0 embeds whole synopses only")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="anisim", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    kinds = dict(choices=config.KINDS, nargs="+", default=list(config.KINDS), help="anime, manga or both (default)")

    p = sub.add_parser("build-catalog", help="merge the raw MAL sources into catalogs (seconds)")
    p.add_argument("--sources", type=Path, default=config.data_dir(),
                   help="folder with anime/ and manga/ source files (default: $ANISIM_DATA_DIR or %(default)s)")
    p.add_argument("--out", type=Path, default=config.catalog_dir(), help="output folder (default: %(default)s)")
    p.add_argument("--kind", **kinds)
    p.set_defaults(func=_cmd_build_catalog)

    p = sub.add_parser("build-index", help="embed every synopsis (minutes; re-encodes only changed texts)")
    p.add_argument("--kind", **kinds)
    p.add_argument("--catalog", type=Path, default=config.catalog_dir(), help="catalog folder (default: %(default)s)")
    _add_model_options(p)
    p.set_defaults(func=_cmd_build_index)

    p = sub.add_parser("prepare", help="build catalogs, and each index only if missing or stale (what serve runs)")
    p.add_argument("--kind", **kinds)
    p.add_argument("--sources", type=Path, default=config.data_dir(), help="raw source folder (default: %(default)s)")
    _add_model_options(p)
    p.set_defaults(func=_cmd_prepare)

    p = sub.add_parser("search", help="search from the command line (loads the model: a few seconds)")
    p.add_argument("query", help="a description of the title")
    p.add_argument("--kind", choices=config.KINDS, default="anime")
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--mode", choices=MODES, default=DEFAULT_MODE)
    p.add_argument("--page", type=int, default=1)
    p.add_argument("--page-size", type=int, default=10)
    p.add_argument("--home", type=Path, default=config.home_dir())
    p.set_defaults(func=_cmd_search)

    p = sub.add_parser("eval", help="known-item retrieval quality: recall@1, recall@10, MRR@10")
    p.add_argument("--kind", choices=config.KINDS, default="anime")
    p.add_argument("--queries", type=Path, default=None,
                   help="a .jsonl query set (default: $ANISIM_EVAL_DIR/<kind>_dev.jsonl)")
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--mode", choices=MODES, default=DEFAULT_MODE)
    p.add_argument("--home", type=Path, default=config.home_dir())
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("models", help="list known models and whether each is installed")
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
    except KeyboardInterrupt:
        print("anisim: interrupted; nothing was half-written", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
