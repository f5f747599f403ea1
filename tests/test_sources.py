"""Each reader on the real files, and on malformed ones (a clear error naming the file)."""

from pathlib import Path

import pandas as pd
import pytest

from anisim import config, sources
from anisim.catalog import build_catalog
from anisim.cli import main
from anisim.errors import SourceError

DATA = config.data_dir()


def test_jikan_json_reader_reads_a_real_season():
    frame = sources.read_jikan_json(DATA / "anime/mal_seasonal_ate329/2023/fall.json")
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
    ("bad.parquet", "not parquet at all", "not readable as parquet"),
    ("noid.csv", "title,description\nx,y\n", "missing required id column"),
    ("nosyn.csv", "item_id,title\n1,x\n", "missing required column synopsis"),
    ("empty.csv", "", "not readable as CSV"),
])
def test_malformed_files_give_one_line_errors_naming_the_file(tmp_path: Path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(SourceError) as caught:
        sources.read_source(path)
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
