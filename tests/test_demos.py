"""Every foundations demo runs, writes the PNG it promises and returns its text."""

import pytest

from nnlab.errors import NnlabError
from nnlab.demos import DEMOS, run_demo

PICTURES = {"logistic": {"sigmoid"}, "gates": {"gates"}, "xor": {"xor"}, "descent": {"descent", "descent_starts"},
            "convolution": {"convolution", "convolution_steps", "edges"}, "projection": {"projection"},
            "approximation": {"approximation", "approximation_2d"}}


@pytest.mark.parametrize("name", DEMOS)
def test_demo_runs_and_writes_the_pictures_it_names(name, tmp_path):
    text = run_demo(name, tmp_path / "out", seed=0)
    assert text.strip() and len(text.splitlines()) <= 15
    assert {png.stem for png in (tmp_path / "out").iterdir()} == PICTURES[name]
    for png in (tmp_path / "out").iterdir():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and str(png) in text


def test_gates_demo_shows_the_slide_error_and_learned_gates(tmp_path):
    text = run_demo("gates", tmp_path)
    assert "1.0 1.0 1.0 1.0" in text and "learned OR" in text and "learned AND" in text


def test_seeded_demo_is_deterministic(tmp_path):
    assert run_demo("projection", tmp_path, seed=3) == run_demo("projection", tmp_path, seed=3)
    assert run_demo("projection", tmp_path, seed=3) != run_demo("projection", tmp_path, seed=4)


def test_unknown_demo_lists_the_choices_on_one_line(tmp_path):
    with pytest.raises(NnlabError) as info:
        run_demo("perceptron", tmp_path)
    message = str(info.value)
    assert "\n" not in message and all(name in message for name in DEMOS)


def test_the_demos_answer_the_lectures_questions(tmp_path):
    descent = run_demo("descent", tmp_path)
    assert "4 minima, 4 saddles, 1 maximum" in descent and "after 0 steps (gradient)" in descent
    convolution = run_demo("convolution", tmp_path)
    assert "(0,0)=4 (0,1)=3 (0,2)=4 (1,0)=2 (1,1)=4 (1,2)=3 (2,0)=2 (2,1)=3 (2,2)=4" in convolution
    approximation = run_demo("approximation", tmp_path)
    assert "square  : 1.0120  1.0110  1.0110  1.0110" in approximation  # a polynomial activation does not improve


def test_the_api_names_a_demos_pictures_in_order_even_in_a_folder_with_a_space(tmp_path):
    from nnlab import api

    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "another.png").write_bytes(b"")  # a picture the demo did not draw is not its own
    demo = api.foundations("descent", tmp_path / "out" / "my figures")
    assert [path.name for path in demo.plots] == ["descent.png", "descent_starts.png"]
    assert api.foundations("convolution", tmp_path / "out").plots[-1].name == "edges.png"
