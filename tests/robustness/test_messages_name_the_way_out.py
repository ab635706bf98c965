"""Messages that give the way out (issue 16, defects 8, 9 and 14): the valid face numbers,
a placement outside the photo in command-line terms, every composite option described."""

from __future__ import annotations

import numpy as np
import pytest

from app.__main__ import main
from engines.base import InvalidInput
from engines.composite.apply import GuidedCompositeEngine
from engines.composite.request import CompositeRequest, Placement
from engines.faces.detect import pick_face


@pytest.mark.parametrize("count, words", [(1, "choose 0 (the only face)"),
                                          (3, "choose 0 to 2 (0 = the largest)")])
def test_a_face_number_that_does_not_exist_names_the_valid_ones(count, words):
    with pytest.raises(InvalidInput) as caught:
        pick_face([object()] * count, 5, "first")
    assert "face 5 does not exist" in caught.value.message and words in caught.value.message


def test_a_placement_off_the_photo_says_where_it_was_without_speaking_of_dragging():
    target = np.zeros((100, 120, 3), np.float32)
    guide = np.ones((60, 60, 3), np.float32)
    mask = np.ones((60, 60), np.float32)
    request = CompositeRequest(target, guide, mask, (0, 0, 60, 60), Placement(900, 900),
                               harmonize="none")
    with pytest.raises(InvalidInput) as caught:
        GuidedCompositeEngine().run(request)
    message = caught.value.message
    assert "(120×100;" in message and "900,900" in message and "drag" not in message


def test_every_composite_option_is_described_in_help(capsys):
    assert main(["composite", "--help"]) == 0
    help_text = capsys.readouterr().out
    assert "where to save the composite" in help_text
