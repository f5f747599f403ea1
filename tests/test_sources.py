"""Each reader on the real files, and on malformed ones (a clear error naming the file)."""

import json
from pathlib import Path

import pandas as pd
import pytest

from anisim import sources
from anisim.catalog import build_catalog
from anisim.cli import main
from anisim.errors import SourceError
from anisim.settings import Settings

DATA = Settings.from_env().data_dir


def test_jikan_json_reader_reads_a_real_season():
    frame, precedence = sources.read_source(DATA / "anime/mal_seasonal_ate329/2023/fall.json")
    assert precedence == sources.JIKAN_JSON
    frieren = frame[frame["id"] == 52991].iloc[0]
    assert frieren["title_english"] == "Frieren: Beyond Journey's End"
    assert frieren["genres"] == ["Adventure", "Drama", "Fantasy"]
    assert list(frame.columns) == sources.SOURCE_COLUMNS


def test_parquet_reader_treats_its_title_as_a_fallback():
    frame = sources.read_jikan_parquet(DATA / "anime/mal_top_ezhang07.parquet")
    assert len(frame) == 4812
    assert frame["title"].isna().all() and frame["title_fallback"].notna().all()


def test_csv_reader_splits_mixed_tags_and_guesses_type_from_file_name():
    frame = sources.read_mal_csv(DATA / "manga/mal_borboranabil_manhwa.csv")
    solo = frame[frame["id"] == 121496].iloc[0]
    assert solo["type_hint"] == "Manhwa"
    assert solo["genres"] == ["Action", "Adventure", "Fantasy"]
    assert solo["themes"] == ["Adult Cast", "Urban Fantasy"]


def test_csv_reader_reads_the_typed_layout():
    frame = sources.read_mal_csv(DATA / "manga/mal_zacharyunderscorelim.csv")
    assert len(frame) == 1000 and frame["type"].notna().sum() == 999 and frame["score"].notna().sum() == 999


@pytest.mark.parametrize("name, content, message", [
    ("bad.json", "[{\"mal_id\": 1,", "not readable as JSON"),
    ("obj.json", "{\"mal_id\": 1}", "expected a JSON list"),
    ("cols.json", "[{\"mal_id\": 1, \"title\": \"x\"}]", "missing required column(s) synopsis"),
    ("title.json", "{\"idMal\": 1, \"title\": \"x\", \"synopsis\": null}", "needs an integer id/idMal, a title object"),
    ("bad.parquet", "not parquet at all", "not readable as parquet"),
    ("noid.csv", "title,description\nx,y\n", "missing required id column"),
    ("nosyn.csv", "item_id,title\n1,x\n", "missing required column synopsis"),
    ("empty.csv", "", "not readable as CSV"),
])
def test_malformed_files_give_one_line_errors_naming_the_file(tmp_path: Path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(SourceError) as caught:
        sources.read_source(path)[0]
    assert str(path) in str(caught.value) and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_or_empty_source_folder(tmp_path: Path):
    with pytest.raises(SourceError, match="source folder not found"):
        build_catalog(tmp_path / "nowhere", "anime")
    (tmp_path / "anime").mkdir()
    with pytest.raises(SourceError, match="no source files"):
        build_catalog(tmp_path, "anime")


def test_cli_reports_a_malformed_file_in_one_line_and_writes_nothing(tmp_path: Path, capsys):
    (tmp_path / "anime").mkdir()
    pd.DataFrame({"item_id": [1], "title": ["x"], "description": ["y"]}).to_csv(tmp_path / "anime/a.csv", index=False)
    (tmp_path / "anime/b.json").write_text("{oops")
    out = tmp_path / "out"
    assert main(["build-catalog", "--sources", str(tmp_path), "--out", str(out), "--kind", "anime"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("anisim: error: ") and "b.json" in error and "\n" not in error
    assert not out.exists()


def test_metadata_reader_parses_display_strings():
    frame = sources.read_mal_metadata_csv(DATA / "manga-metadata/mal_top_manga_hahuy2004.csv")
    rows = frame.set_index("id")
    berserk, horimiya, jojo = rows.loc[2], rows.loc[42451], rows.loc[1706]
    assert berserk["members"] == 725079 and berserk["start_date"] == "1989-08-25" and berserk["start_year"] == 1989
    assert berserk["chapters"] is None and berserk["volumes"] is None  # "Unknown" while publishing
    assert (horimiya["volumes"], horimiya["chapters"]) == (17, 139)
    assert jojo["title"] == "JoJo no Kimyou na Bouken Part 7: Steel Ball Run"
    assert jojo["title_english"] == "JoJo's Bizarre Adventure Part 7: Steel Ball Run"
    assert berserk["genres"][:2] == ["Action", "Adventure"] and berserk["demographics"] == ["Seinen"]
    assert frame["synopsis"].isna().all() and list(frame.columns) == sources.SOURCE_COLUMNS


def test_metadata_fills_fields_but_never_makes_a_title_searchable(tmp_path):
    (tmp_path / "manga").mkdir()
    (tmp_path / "manga-metadata").mkdir()
    (tmp_path / "manga" / "m.csv").write_text("manga_id,title,synopsis\n2,Berserk,A swordsman fights demons.\n")
    (tmp_path / "manga-metadata" / "top.csv").write_text(
        'manga_id,url,Title,Score,Members,Types,Volumes,Chapters,Status,Published\n'
        '2,u,Berserk (Berserk EN),9.47,"725,079",Manga,Unknown,Unknown,Publishing,"Aug  25, 1989 to ?"\n'
        '99,u,Not In Synopsis Sources,7.0,"1,000",Manga,1,2,Finished,2001\n')
    catalog, report = build_catalog(tmp_path, "manga")
    assert list(catalog.items["id"]) == [2]
    berserk = catalog.items.iloc[0]
    assert berserk["title"] == "Berserk" and berserk["title_english"] == "Berserk EN" and berserk["members"] == 725079
    assert report.filled["members"] == 1 and report.rows_without_synopsis == 0
    assert any("manga-metadata" in line for line in report.lines())


MAPPER = DATA / "anime/anime_mapper.jsonl"


def test_the_anime_mapper_reader_keeps_mal_tags_apart_from_other_sites_tags():
    frame = sources.read_anime_mapper_jsonl(MAPPER)
    assert len(frame) == 25_894 and frame["id"].is_unique and list(frame.columns) == sources.SOURCE_COLUMNS
    bebop = frame.set_index("id").loc[1]
    assert (bebop["title"], bebop["title_english"]) == ("Cowboy Bebop", "Cowboy Bebop")
    assert (bebop["type"], bebop["episodes"]) == ("TV", 26)
    assert bebop["start_date"] == "1998-04-03" and bebop["start_year"] == 1998 and bebop["score"] == 8.75
    assert bebop["genres"] == ["Action", "Award Winning", "Sci-Fi", "Adventure", "Drama", "Comedy"]
    assert bebop["themes"] == ["Space", "Detective"]
    assert {"Space Travel", "Bounty Hunter", "Science Fiction"} <= set(bebop["tags"])
    assert {"id": 5, "relation": "SIDE_STORY", "title": "Cowboy Bebop: The Movie - Knockin' on Heaven's Door"} \
        in bebop["related"]
    assert (bebop["studios"], bebop["source_material"], bebop["episode_minutes"]) == (["Sunrise"], "Original", 25)
    assert bebop["rating"].startswith("R - 17+") and bebop["listings"] >= 10
    assert set(frame["type"].dropna()) == {"TV", "Movie", "OVA", "ONA", "Music", "Special", "TV Special", "CM", "PV"}


@pytest.mark.parametrize("lines, message", [
    (['{"idMal": 1, "title": {"romaji": "A"}, "synopsis": "x"}', '{"idMal": 2, "title": '], ":2: not a JSON object"),
    (['{"idMal": 1, "title": {"romaji": "A"}, "synopsis": "x"}', "", "[1, 2]"], ":3: not a JSON object"),
    (['{"title": {"romaji": "A"}, "synopsis": "x"}'], ":1: each title needs an integer id/idMal"),
    (['{"idMal": 3, "title": "A", "synopsis": "x"}'], ":1: each title needs an integer id/idMal, a title object"),
    (['{"idMal": 3, "title": {"romaji": "A"}}'], ":1: each title needs an integer id/idMal, a title object and a synopsis key"),
])
def test_a_malformed_mapper_line_is_named_by_file_and_line(tmp_path, lines, message):
    path = tmp_path / "mapper.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(SourceError) as caught:
        sources.read_source(path)
    assert str(caught.value).startswith(f"{path}{message}") and "\n" not in str(caught.value)


def test_the_upstream_layout_of_one_json_file_per_title_reads_like_the_jsonl(tmp_path):
    lines = MAPPER.read_text(encoding="utf-8").splitlines()[:30]
    (tmp_path / "files/anime/000").mkdir(parents=True)
    (tmp_path / "lines/anime").mkdir(parents=True)
    for line in lines:
        (tmp_path / "files/anime/000" / f"{json.loads(line)['id']}.json").write_text(line)
    (tmp_path / "lines/anime/mapper.jsonl").write_text("\n".join(lines) + "\n")
    frame, precedence = sources.read_source(tmp_path / "files/anime/000/1.json")
    assert precedence == sources.ANIME_MAPPER and frame.iloc[0]["title"] == "Cowboy Bebop"
    per_title, per_line = build_catalog(tmp_path / "files", "anime")[0], build_catalog(tmp_path / "lines", "anime")[0]
    assert len(per_title.items) > 20 and per_title.content_hash() == per_line.content_hash()
    assert per_title.items.equals(per_line.items)


def test_mal_author_lists_become_names_as_written_in_english():
    from anisim.sources import _authors
    assert _authors("Miura, Kentarou (Story & Art), Studio Gaga (Art)") == ["Kentarou Miura", "Studio Gaga"]
    assert _authors("ONE (Story), Murata, Yuusuke (Art)") == ["ONE", "Yuusuke Murata"]
    assert _authors("Unknown") is None and _authors(None) is None


def test_jikan_durations_become_minutes():
    from anisim.sources import _minutes
    assert _minutes("23 min per ep") == 23 and _minutes("1 hr 55 min") == 115 and _minutes("2 hr") == 120
    assert _minutes("Unknown") is None and _minutes(None) is None


def test_the_rankings_and_episode_titles_fill_the_default_anime_catalog(catalogs):
    items = catalogs["anime"].items.set_index("id")
    assert items["members"].notna().sum() >= 13_000
    assert items.loc[5114, "members"] > 3_000_000  # Fullmetal Alchemist: Brotherhood
    assert items.loc[1, "episode_titles"][:2] == ["Asteroid Blues", "Stray Dog Strut"]  # Cowboy Bebop
    assert items["episode_titles"].notna().sum() > 9_000
