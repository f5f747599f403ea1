"""Query understanding, rule by rule: each test writes its own sentence (none is a dev post)."""

import pytest

from anisim.columns import Columns
from anisim.search import catalog_names
from anisim.understanding import Names, understand

GHIBLI = Names(["Studio Ghibli", "Madhouse", "Bones", "Shueisha"], everyday_words={"bones"})


def cues(text: str, names: Names = GHIBLI):
    return understand(text, names).cues


@pytest.mark.parametrize(("text", "types"), [
    ("an old movie about a girl and a dragon", ("Movie",)),
    ("an animated film with a talking cat", ("Movie",)),
    ("a tv series about space pirates", ("TV",)),
    ("this show had robots that fight at school", ("TV",)),
    ("an OVA from the eighties with cyborgs", ("OVA",)),
    ("a web series about office workers", ("ONA",)),
    ("a manhwa where a hunter levels up", ("Manhwa",)),
    ("a webtoon about a tower", ("Manhwa",)),
    ("a manga about cooking", ("Manga",)),
    ("a light novel about a sword world", ("Light Novel",)),
    ("a one-shot about a lonely ghost", ("One-shot",)),
])
def test_type_words_are_cues(text, types):
    assert cues(text).types == types


def test_a_special_is_a_type_only_as_a_noun():
    assert cues("a Christmas special about a snowman").types == ("Special", "TV Special")
    assert cues("I think it was a special.").types == ("Special", "TV Special")
    assert cues("a girl whose special power is to stop time").types == ()
    assert cues("the special forces hunt a rogue android").types == ()


def test_seeing_it_on_tv_says_nothing_about_its_type():
    assert cues("I saw a story about pirates on TV when I was little").types == ()
    assert cues("a girl who rides a wolf, shown on a tv channel at night").types == ()


def test_forum_tags_give_cues_and_leave_the_text():
    found = understand("[TOMT][MOVIE][90s] a boy who can talk to whales in a flooded city")
    assert found.cues.types == ("Movie",) and found.cues.years == (1990, 1999)
    assert "[" not in found.text and "TOMT" not in found.text and "whales" in found.text


@pytest.mark.parametrize(("text", "years"), [
    ("it came out in the 90s", (1990, 1999)),
    ("a late 90's cartoon", (1996, 1999)),
    ("early 80s robots", (1980, 1984)),
    ("a mid-2000s show", (2003, 2007)),
    ("from the 1970s", (1970, 1979)),
    ("an eighties film", (1980, 1989)),
    ("released 1995 in Japan", (1994, 1996)),
    ("2000ish", (1998, 2002)),
    ("somewhere in 1980-2000", (1979, 2001)),
    ("late 90s to early 2000s", (1996, 2004)),
])
def test_eras(text, years):
    assert cues(text).years == years


def test_the_year_it_was_watched_bounds_the_start_from_above():
    assert cues("I watched it in 2005 at my cousin's house").years == (None, 2005)
    assert cues("a 90s film, I saw it in 1998").years == (1990, 1998)


def test_a_range_of_years_watched_bounds_by_its_last_year():
    assert cues("I saw it at school as a kid (around 2010-2011?)").years == (None, 2011)
    assert cues("I watched it in 2003 or 04 on a rented tape").years == (None, 2004)


def test_a_narrower_era_refines_the_broader_one_it_lies_in():
    assert cues("a recent film, 2010s for sure, more like 2017-2019").years == (2016, 2020)
    assert cues("an 80s film, maybe late 80s").years == (1986, 1989)
    assert cues("late 90s to early 2000s").years == (1996, 2004)  # side by side: both kept


def test_an_era_said_of_the_viewing_is_a_wider_guess_at_the_title():
    # when a person only says when they saw it, the title is from then or up to ten years before
    assert cues("A boy and a dragon in the clouds. I watched it as a kid in the 90s.").years == (1980, 1999)
    assert cues("A fish girl befriends a boy. This was back in 2009 or 2010.").years == (1998, 2011)
    # what is said of the title itself wins over when it was seen
    assert cues("[MOVIE][80s] I saw it as a kid in the early 2000s.").years == (1980, 1989)


def test_a_forum_posts_title_line_is_a_sentence_of_its_own():
    post = "[TOMT][MOVIE] An indie film from 2018\nI watched this with a friend. A skull on fire rides a moped."
    assert understand(post).cues.years == (2017, 2019)


def test_a_number_of_things_is_not_a_year():
    assert cues("a wizard who lived for 2000 years").years is None


@pytest.mark.parametrize("text", ["a creature that flies at Mach 20 speeds", "they have 720 seconds to escape",
                                  "50 soldiers hold the pass", "Year 7380 Star Calendar"])
def test_a_number_inside_other_words_is_no_decade(text):
    assert cues(text).years is None


def test_when_the_story_is_set_is_not_when_the_title_came_out():
    assert cues("The year is 2022, and gamers line up for a new game").years is None
    assert cues("In AD 2008, mankind destroyed most of the Earth").years is None
    assert cues("a 90s movie set in the 1920s").years == (1990, 1999)
    assert cues("an 80s film, in the year 2199 a ship leaves Earth").years == (1980, 1989)


def test_maker_names_are_found_with_or_without_studio_and_case():
    assert cues("a studio ghibli film about a castle").names == ("Studio Ghibli",)
    assert cues("I think Madhouse made it").names == ("Madhouse",)
    assert cues("serialized in Shueisha's magazine").names == ("Shueisha",)


def test_an_everyday_word_is_a_name_only_when_written_as_one():
    assert cues("a skeleton whose bones glow at night").names == ()
    assert cues("the animation was by Bones, I'm sure").names == ("Bones",)


def test_a_name_the_stories_use_for_a_character_is_a_maker_only_after_studio():
    names = Names(["Studio Ghibli", "Studio Zero", "drop"], everyday_words={"drop"}, storied={"zero"})
    assert cues("their saviour, Zero, is nowhere to be found", names).names == ()
    assert cues("I think studio zero animated it", names).names == ("Studio Zero",)
    assert cues("if their health points drop to zero they die", names).names == ()  # "drop" is a studio
    assert cues("a ghibli film", names).names == ("Studio Ghibli",)


def test_the_catalogs_own_stories_tell_makers_from_characters(catalogs):
    catalog = catalogs["anime"]
    names = catalog_names(catalog, Columns(catalog))
    assert names.find("a studio ghibli movie, or maybe Madhouse made it") == ("Studio Ghibli", "Madhouse")
    assert names.find("Goku and Gohan fight for the World Cup with the Seven Deadly Sins") == ()


def test_a_likeness_is_not_a_maker():
    assert cues("a Ghibli-like movie about a forest spirit").names == ()
    assert cues("it looked like Ghibli but darker").names == ()
    assert cues("a studio ghibli esque film").names == ()


@pytest.mark.parametrize(("text", "audience"), [
    ("a kids show about a talking dog", ("Kids",)),
    ("a children's cartoon with dinosaurs", ("Kids",)),
    ("a movie for kids about trains", ("Kids",)),
    ("a shoujo anime about a magical girl", ("Shoujo",)),
    ("a shonen series with a tournament", ("Shounen",)),
    ("a seinen manga about a detective", ("Seinen",)),
    ("it was definitely an R rated movie about gangsters", ("Mature",)),
    ("a gory film, not for kids", ("Mature",)),
    ("an adult cartoon about office life", ("Mature",)),
])
def test_audience_words(text, audience):
    assert cues(text).audience == audience


def test_watching_as_a_kid_says_nothing_about_the_audience():
    assert cues("I watched this as a kid, it was about a vampire hunter").audience == ()


@pytest.mark.parametrize(("text", "genres"), [
    ("a show with giant robots fighting aliens", ("Mecha", "Sci-Fi")),
    ("a vampire who works at a cafe", ("Vampire",)),
    ("a ronin wanders feudal japan", ("Samurai",)),
    ("a really creepy show about a doll", ("Horror",)),
    ("a crew on a spaceship far from earth", ("Space",)),
    ("she can travel back in time", ("Time Travel",)),
    ("a magical girl with a talking cat", ("Mahou Shoujo",)),
    ("he is summoned to another world", ("Isekai",)),
    ("a man reincarnated as a sword", ("Reincarnation",)),
    ("a kung fu master and his student", ("Martial Arts",)),
    ("soldiers in a war against an empire", ("Military",)),
    ("a high school volleyball team", ("Sports", "School")),
    ("two rivals who fall in love", ("Romance",)),
    ("a boy who can see ghosts", ("Supernatural",)),
    ("a dragon and a young wizard", ("Fantasy",)),
    ("a funny show about a lazy god", ("Comedy",)),
    ("a detective and his assistant", ("Detective",)),
    ("three girls become idols", ("Idols (Female)", "Idols (Male)")),
    ("trapped in a virtual reality game", ("Video Game",)),
])
def test_genre_words(text, genres):
    assert cues(text).genres == genres


def test_school_days_of_the_viewer_are_no_genre():
    assert cues("Back when I was in primary school a classmate showed me a show about a princess").genres == ()
    assert cues("a high school volleyball team").genres == ("Sports", "School")


def test_a_word_with_many_senses_is_no_genre():
    assert cues("a girl who plays in a band and likes magic tricks").genres == ()


def test_dubbed_and_western_channels():
    assert cues("it was dubbed and aired on Cartoon Network").dubbed
    assert cues("I rented the english dub").dubbed
    assert not cues("a girl who dreams of the sea").dubbed


def test_meta_talk_and_sign_offs_leave_the_description():
    raw = ("A girl finds a door to a world of spirits. Her parents turn into pigs. "
           "Any help would be appreciated! Thanks in advance. "
           "I can't remember the name of it for the life of me. Edit: it is not the one with the bathhouse")
    text = understand(raw).text
    assert text == "A girl finds a door to a world of spirits. Her parents turn into pigs."


def test_hedges_go_and_the_memory_stays():
    text = understand("I think there was a boy who maybe could fly with a kite").text
    assert text == "there was a boy who could fly with a kite"


def test_a_short_query_is_kept_as_typed():
    assert understand("thanks").text == "thanks"
    assert understand("a lonely swordsman in another world").text == "a lonely swordsman in another world"
    assert understand("a lonely swordsman in the mountains").cues.as_dict() == {}


def test_peoples_words_get_the_synopses_words_beside_them():
    assert understand("a boy reborn as a slime").text == "a boy reborn as a slime (reincarnated)"
    assert understand("she is reincarnated as a villainess").text.endswith("(reborn)")
    assert understand("an isekai with giant robots").text == \
        "an isekai with giant robots (transported to another world, mecha)"
    assert understand("reincarnated and reborn twice").text == "reincarnated and reborn twice"


def test_the_wire_form_names_only_what_was_found():
    found = understand("[MOVIE] a 90s studio ghibli film about a witch", GHIBLI).cues.as_dict()
    assert found == {"types": ["Movie"], "years": [1990, 1999], "names": ["Studio Ghibli"], "genres": ["Fantasy"]}
