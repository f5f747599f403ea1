from anisim.text import clean_query, clean_synopsis, without_names


def test_strips_source_and_rewrite_tags_html_and_whitespace():
    raw = "Edward &amp; Alphonse<br><br>\n\n seek  the stone.\n\n(Source: ANN)\n\n[Written by MAL Rewrite]"
    assert clean_synopsis(raw) == "Edward & Alphonse seek the stone."


def test_keeps_case_punctuation_and_stop_words():
    text = "The data, it's said, is Unknown to them. No synopsis can hold it!"
    assert clean_synopsis(text) == text


def test_placeholders_and_empty_texts_are_no_synopsis():
    for raw in ["No synopsis has been added for this series yet.", "No synopsis yet",
                "  ", "", None, 3.5, "(Source: somewhere)",
                "No synopsis information has been added to this title. Help improve our database by adding a synopsis here."]:
        assert clean_synopsis(raw) is None, raw


def test_query_cleaning_matches_corpus_rules():
    assert clean_query("  a boy &amp; his <i>slime</i>\n") == "a boy & his slime"


def test_queries_of_markup_or_invisible_characters_clean_to_nothing():
    for raw in ["<br>", "\u200b\u200b", "\x00\x01\x1f", "\ud800", " <p></p>\u2060 "]:
        assert clean_query(raw) == "", repr(raw)
    assert clean_query("a\u200bslime\x00girl") == "a slime girl"


def test_a_query_can_keep_its_lines():
    raw = "[TOMT] a film from 2018  \r\n\n  I watched it <br>with\ta friend\n"
    assert clean_query(raw) == "[TOMT] a film from 2018 I watched it with a friend"
    assert clean_query(raw, lines=True) == "[TOMT] a film from 2018\nI watched it with a friend"


def test_without_names_drops_capitalised_words_inside_sentences_and_words_with_digits():
    text = "After losing to Aoba Johsai at the Inter-High, the team trains. Shouko transfers in 2013 to Tokyo."
    assert without_names(text) == "After losing to at the the team trains. Shouko transfers in to"


def test_without_names_reproduces_most_of_the_dev_sets_noname_form(dev_queries):
    queries = dev_queries["anime"]
    same = sum(without_names(q["short"]) == q["noname"] for q in queries)
    assert same >= 0.9 * len(queries)
