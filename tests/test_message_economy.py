"""Issue #11 item 5: a sheet costs about one message per question (see the benchmark)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks.messages_per_sheet import CHANNELS, play_sheet


@pytest.mark.parametrize("name", ["zalo", "zalo_oa", "telegram"])
async def test_a_sheet_costs_one_message_per_input_and_the_review_only_its_parts(
        name: str, tmp_path: Path) -> None:
    caps = CHANNELS[name]
    economy = await play_sheet(name, caps, tmp_path)
    kinds = economy.breakdown
    assert economy.questions == 23 and kinds["submit confirmation"] == 1
    assert kinds.get("confirmation alone", 0) == 0 and kinds.get("other", 0) == 0
    assert kinds["confirmation + next question"] >= economy.questions - 7  # skips, ends of lists
    assert economy.messages == economy.inputs + kinds["documents"]  # one reply per input
    fewest = math.ceil(economy.review_chars / caps.max_length)
    assert kinds["review parts"] == fewest  # cut only where the limit demands
    assert economy.parts == economy.messages + fewest - 1
    if name == "zalo":  # the quota: 23 questions, 7 more list items (2 of them files), 2 more
        assert economy.parts <= economy.questions + 12  # review parts, the submit, the link
