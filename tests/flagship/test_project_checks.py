"""The nonsense checks of the `project` pipeline (project_checks.py): no model needed."""
from __future__ import annotations

import json

from flagkit import ANALYSIS, IMPLEMENTATION, PLAN_ONE, REQUIREMENTS, STORY

from orchestrator_nb.cli.main import main
from orchestrator_nb.pipelines.project_checks import check_milestone, check_stories, foreign, gibberish, language, terms

GOALS = ["Agree on a lunch place every day"]


def test_a_reasonable_story_passes():
    assert check_stories({"stories": [STORY]}, REQUIREMENTS, GOALS) is None
    other = dict(STORY, title="Add a place", story="As a team member, I want to add a place with its cuisine, "
                 "so that others can vote for it")
    assert check_stories({"stories": [STORY, other]}, REQUIREMENTS, GOALS) is None
    assert check_stories({"stories": [STORY]}) is None          # without requirements: the sentence and goal copies only


def test_a_story_of_words_absent_from_the_requirements_fails_the_terms_check():
    made_up = {"title": "Zorbu flinks", "story": "As a grobnik, I want zorbu flinks, so that quarn dribs",
               "acceptance_criteria": ["Flinks zorbu quarn"]}
    problem = check_stories({"stories": [made_up]}, REQUIREMENTS, GOALS)
    assert problem.startswith("[terms] story 1 ('Zorbu flinks') uses no words of the requirements")


def test_a_story_of_random_letters_fails_the_words_check_even_under_a_title_from_the_requirements():
    """What the offline model writes when it loses the thread, under a title copied from the plan."""
    garbled = {"title": "Vote for lunch", "story": "As a Pb Bc Cd Dg Eh Fg, I want tlwc123456789011213, so that "
               "the team can vote for lunch", "acceptance_criteria": ["A vote counts once a day"]}
    problem = check_stories({"stories": [garbled]}, REQUIREMENTS, GOALS)
    assert problem == "[words] story 1: the role and the 'I want' is not made of words; write plain sentences."
    only_title = {"title": "Vote for lunch", "story": "As a grobnik, I want zorbu flinks, so that quarn dribs",
                  "acceptance_criteria": ["Flinks zorbu quarn"]}
    assert check_stories({"stories": [only_title]}, REQUIREMENTS, GOALS).startswith(
        "[terms] story 1 ('Vote for lunch') uses no words of the requirements")
    for fine in ("SQL DB API", "upload a CSV file by 22:00", "v2 of the API", "Straße und Grüße"):
        assert not gibberish(fine), fine


def test_a_story_in_another_language_fails_the_language_check():
    spanish = {"title": "Votar el almuerzo", "story": "As a miembro, I want votar por un lugar para el almuerzo, "
               "so that el equipo se pone de acuerdo con la comida",
               "acceptance_criteria": ["Un segundo voto en el mismo lugar no se cuenta"]}
    problem = check_stories({"stories": [spanish]}, REQUIREMENTS, GOALS)
    assert "[language] story 1 reads as Spanish; write it in English" in problem
    assert language(REQUIREMENTS) == "English"
    assert "Cyrillic letters" in foreign("Голосовать за обед каждый день", REQUIREMENTS)


def test_repeats_and_a_circular_benefit_fail_and_are_named():
    echo = dict(STORY, story="As a team member, I want to vote, so that to vote")
    assert check_stories({"stories": [echo]}, REQUIREMENTS) == (
        "[benefit] story 1: the 'so that' part must say why the user wants it, not repeat the 'I want'.")
    # a story written twice is not a failure: story_list keeps it once (test_project_files)
    assert check_stories({"stories": [STORY, dict(STORY)]}, REQUIREMENTS, GOALS) is None
    same_title = dict(STORY, story="As a team member, I want to add a place with its cuisine, so that others can "
                      "vote for it")  # a title is a label: two stories may share one (story_list renames)
    assert check_stories({"stories": [STORY, same_title]}, REQUIREMENTS, GOALS) is None
    copy = dict(STORY, story="As a team member, I want agree on a lunch place every day, so that we eat together")
    assert "[repeats] story 1 copies a goal of the analysis word for word" in check_stories(
        {"stories": [copy]}, REQUIREMENTS, GOALS)
    assert check_stories({"stories": [dict(STORY, story="We want food")]}, REQUIREMENTS).startswith("[shape]")


def test_the_milestone_check():
    part = {"lines": ["Each person gets one vote per day; voting closes at 11:30."]}
    assert check_milestone(PLAN_ONE, REQUIREMENTS, part) is None
    off = {"goal": "Achievements", "title": "Achieve a goal"}      # what the small model writes when lost
    assert check_milestone(off, REQUIREMENTS, part) == (
        "[terms] the milestone names nothing from its requirements; use their words for what it delivers.")
    # the terms are those of its own part: another part's words do not count
    chat = {"goal": "The winner is posted to the chat", "title": "Chat"}
    assert check_milestone(chat, REQUIREMENTS, part).startswith("[terms]")
    assert check_milestone(chat, REQUIREMENTS) is None                # (no part: the whole requirements)
    spanish = {"goal": "Los miembros del equipo votan una vez al día por el almuerzo", "title": "Votar"}
    assert "[language] the milestone reads as Spanish" in check_milestone(spanish, REQUIREMENTS, part)
    assert check_milestone({"goal": "x"}, REQUIREMENTS, part).startswith("[shape]")
    assert "vot" in terms(REQUIREMENTS) and "the" not in terms(REQUIREMENTS)


def test_after_the_last_attempt_the_run_names_the_failed_check(
        fake_anthropic, fake_openai, requirements, capsys):
    made_up = {"stories": [{"title": "Zorbu flinks", "story": "As a grobnik, I want zorbu flinks, so that quarn dribs",
                            "acceptance_criteria": ["Flinks zorbu quarn"]}]}
    fake_anthropic.push({"data": ANALYSIS}, {"data": PLAN_ONE}, *[{"data": made_up}] * 3)
    fake_openai.push({"data": IMPLEMENTATION})
    code = main(["run", "project", "-p", f"requirements=@{requirements}", "-p", "max_milestones=1", "--approval",
                 "auto", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 1 and result["status"] == "failed"
    assert "step 'stories': check check_stories failed 3 time(s), last: [terms] story 1 ('Zorbu flinks')" \
        in result["error"]
