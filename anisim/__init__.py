"""anisim: find anime and manga from a description, by meaning and by words.

The library is plain Python (no BentoML): build a catalog from raw MyAnimeList dumps
(`anisim.catalog`), embed its synopses (`anisim.index`), and search it (`anisim.search`).
`service.py` at the repository root serves it over HTTP.
"""

__version__ = "0.1.0"
